//! `--list-hosts`, `--list-tasks`, `--list-tags`: the plan printed in ansible-playbook's format,
//! without connecting to any host.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::Plan;
use crate::playbook::Playbook;

#[derive(Debug, Clone, Copy, Default)]
pub struct ListWhat {
    pub hosts: bool,
    pub tasks: bool,
    pub tags: bool,
}

/// Each play's hosts (after `--limit`) and its rendered `hosts:` pattern, by play index.
pub struct PlayHosts<'a> {
    pub hosts: &'a dyn Fn(usize) -> Vec<String>,
    pub pattern: &'a dyn Fn(usize) -> String,
}

/// Render the listing.
pub fn render(pb: &Playbook, plan: &Plan, what: ListWhat, plays: &PlayHosts<'_>) -> String {
    let mut out = format!("\nplaybook: {}\n", pb.path.display());
    for (i, (play, pp)) in pb.plays.iter().zip(&plan.plays).enumerate() {
        let pattern = (plays.pattern)(i);
        let name = if play.name.is_empty() { &pattern } else { &play.name };
        let _ = writeln!(out, "\n  play #{} ({}): {}\tTAGS: [{}]", i + 1, pattern, name, play.attrs.tags.join(", "));
        if what.hosts {
            let hosts = (plays.hosts)(i);
            let _ = writeln!(out, "    pattern: ['{}']", pattern);
            let _ = writeln!(out, "    hosts ({}):", hosts.len());
            for h in hosts {
                let _ = writeln!(out, "      {h}");
            }
        }
        if what.tasks {
            let _ = writeln!(out, "    tasks:");
            for node in pp.nodes().filter(|n| n.listed && pp.is_selected(n.id)) {
                let tags: Vec<&str> = node.tags.iter().map(String::as_str).collect();
                let _ = writeln!(out, "      {}\tTAGS: [{}]", node.name, tags.join(", "));
            }
        }
        if what.tags {
            // Without a tag filter Ansible lists every tag, `never` ones included.
            let unfiltered = plan.filter.only.is_empty() && plan.filter.skip.is_empty();
            // Ansible's implicit flush_handlers tasks carry the play's tags into this list.
            let tags: BTreeSet<&str> = play
                .attrs
                .tags
                .iter()
                .map(String::as_str)
                .chain(
                    pp.nodes()
                        .filter(|n| n.listed && (unfiltered || pp.is_selected(n.id)))
                        .flat_map(|n| n.tags.iter().map(String::as_str)),
                )
                .collect();
            let tags: Vec<&str> = tags.into_iter().collect();
            let _ = writeln!(out, "      TASK TAGS: [{}]", tags.join(", "));
        }
    }
    out
}
