//! The plan: before anything runs, each play becomes a task graph (petgraph). Nodes are tasks
//! with full names, effective tags and source spans; edges are run order and guards.
//!
//! Tags pick a subgraph. A destructive task (`guarded_by: [...]`) drags its guards into the
//! plan whenever it is selected, whatever tags were asked for.

pub mod list;
pub mod tags;

use std::collections::{BTreeSet, HashMap, HashSet};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use crate::error::{exit, Diagnose, Diagnostic};
use crate::playbook::{ActionKind, Block, Item, Play, Playbook, Task};
use crate::yaml::Span;

pub use tags::TagFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    PreTasks,
    Roles,
    Tasks,
    PostTasks,
}

#[derive(Debug, Clone)]
pub struct TaskNode {
    pub id: usize,
    /// As Ansible shows it: `role : name`, or the action when unnamed.
    pub name: String,
    /// The task's own name or action, without the role prefix.
    pub short_name: String,
    /// Effective tags: own plus inherited from play, role, block and import.
    pub tags: BTreeSet<String>,
    pub span: Span,
    pub section: Section,
    pub guarded_by: Vec<String>,
    /// Shown by `--list-tasks`: Ansible lists `block:` tasks but not `rescue:`/`always:` ones.
    pub listed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// Runs after.
    Order,
    /// The source guards the (destructive) target.
    Guard,
}

#[derive(Debug)]
pub struct PlayPlan {
    pub graph: DiGraph<TaskNode, Edge>,
    /// Task ids selected to run.
    pub selected: HashSet<usize>,
    /// Task ids that run only because a destructive task needs them.
    pub pulled_in: HashSet<usize>,
    pub index: HashMap<usize, NodeIndex>,
}

impl PlayPlan {
    pub fn is_selected(&self, id: usize) -> bool {
        self.selected.contains(&id)
    }
    /// Nodes in run order.
    pub fn nodes(&self) -> impl Iterator<Item = &TaskNode> {
        self.graph.node_indices().map(move |i| &self.graph[i])
    }
    pub fn node(&self, id: usize) -> Option<&TaskNode> {
        self.index.get(&id).map(|i| &self.graph[*i])
    }
}

#[derive(Debug)]
pub struct Plan {
    pub plays: Vec<PlayPlan>,
    pub filter: TagFilter,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("`guarded_by: {guard}` matches no task name or tag in this play")]
    UnknownGuard { span: Span, guard: String },
    #[error("guard task '{guard}' runs after the destructive task it guards")]
    GuardAfter { span: Span, guard: String },
    #[error("--start-at-task '{0}' matches no task")]
    StartAt(String),
}

impl Diagnose for PlanError {
    fn diagnostic(&self) -> Diagnostic {
        let d = Diagnostic::new(self.to_string());
        match self {
            PlanError::UnknownGuard { span, .. } => {
                d.at(span).hint("name a task (its `name:`) or a tag of the check that must run before this task")
            }
            PlanError::GuardAfter { span, .. } => d.at(span).hint("move the guard task before the destructive task"),
            PlanError::StartAt(_) => d.hint("use a task name exactly as --list-tasks prints it"),
        }
    }
    fn exit_code(&self) -> i32 {
        match self {
            PlanError::StartAt(_) => exit::ERROR,
            _ => exit::UNREACHABLE_OR_PARSE,
        }
    }
}

/// The display name of a task: `role : name` inside a role, the action when unnamed.
/// A task's name as Ansible shows it (`Task.get_name`): a role's task as `role : name`, one
/// without a name by its action (`role : action`); an unnamed `include_role` as
/// `include_role : its role`, a named one by its name alone, even inside a role (its own
/// `get_name`).
pub fn task_name(task: &Task) -> String {
    if task.kind == ActionKind::IncludeRole {
        if let Some(name) = &task.name {
            return name.clone();
        }
        let role = task.args.get("name").or_else(|| task.args.get("role")).map(crate::value::to_text);
        return format!("{} : {}", task.action, role.unwrap_or_default());
    }
    match &task.role {
        Some(role) => format!("{} : {}", role.name, short_name(task)),
        None => short_name(task),
    }
}

pub fn short_name(task: &Task) -> String {
    task.name.clone().unwrap_or_else(|| task.action.clone())
}

/// Plan every play of a playbook.
pub fn build(pb: &Playbook, filter: &TagFilter, start_at: Option<&str>) -> Result<Plan, PlanError> {
    let mut plays = Vec::new();
    let mut started = start_at.is_none();
    for play in &pb.plays {
        let mut plan = build_play(play, filter)?;
        if let Some(name) = start_at {
            if !started {
                let ids: Vec<usize> = plan.nodes().map(|n| n.id).collect();
                let first = plan.nodes().find(|n| n.name == name || n.short_name == name).map(|n| n.id);
                match first {
                    Some(first_id) => {
                        started = true;
                        for id in ids.into_iter().take_while(|id| *id != first_id) {
                            plan.selected.remove(&id);
                        }
                    }
                    None => plan.selected.clear(),
                }
            }
        }
        plays.push(plan);
    }
    if !started {
        return Err(PlanError::StartAt(start_at.unwrap_or_default().to_string()));
    }
    Ok(Plan { plays, filter: filter.clone() })
}

fn build_play(play: &Play, filter: &TagFilter) -> Result<PlayPlan, PlanError> {
    let mut graph = DiGraph::new();
    let mut index = HashMap::new();
    let play_tags: BTreeSet<String> = play.attrs.tags.iter().cloned().collect();
    let sections = [
        (Section::PreTasks, &play.pre_tasks),
        (Section::Roles, &play.roles),
        (Section::Tasks, &play.tasks),
        (Section::PostTasks, &play.post_tasks),
    ];
    let mut prev: Option<NodeIndex> = None;
    for (section, items) in sections {
        let mut nodes = Vec::new();
        collect(items, &play_tags, section, true, &mut nodes);
        for node in nodes {
            let id = node.id;
            let ix = graph.add_node(node);
            index.insert(id, ix);
            if let Some(p) = prev {
                graph.add_edge(p, ix, Edge::Order);
            }
            prev = Some(ix);
        }
    }
    add_guards(&mut graph)?;
    let mut selected: HashSet<usize> =
        graph.node_indices().filter(|i| filter.selects(&graph[*i].tags)).map(|i| graph[i].id).collect();
    // Pull guards in, transitively: a guard may itself be guarded.
    let mut pulled_in = HashSet::new();
    let mut queue: Vec<NodeIndex> = graph.node_indices().filter(|i| selected.contains(&graph[*i].id)).collect();
    while let Some(ix) = queue.pop() {
        for e in graph.edges_directed(ix, Direction::Incoming) {
            if *e.weight() == Edge::Guard {
                let guard = e.source();
                if selected.insert(graph[guard].id) {
                    pulled_in.insert(graph[guard].id);
                    queue.push(guard);
                }
            }
        }
    }
    Ok(PlayPlan { graph, selected, pulled_in, index })
}

/// Effective tags and names of every task under `items`, in run order.
pub fn collect(items: &[Item], inherited: &BTreeSet<String>, section: Section, listed: bool, out: &mut Vec<TaskNode>) {
    for item in items {
        match item {
            Item::Task(task) => out.push(node_for(task, inherited, section, listed)),
            Item::Block(block) => {
                let tags = with_tags(inherited, &block.attrs.tags);
                collect_block(block, &tags, section, listed, out);
            }
        }
    }
}

fn collect_block(block: &Block, tags: &BTreeSet<String>, section: Section, listed: bool, out: &mut Vec<TaskNode>) {
    collect(&block.block, tags, section, listed, out);
    collect(&block.rescue, tags, section, false, out);
    collect(&block.always, tags, section, false, out);
}

pub fn with_tags(inherited: &BTreeSet<String>, own: &[String]) -> BTreeSet<String> {
    let mut tags = inherited.clone();
    tags.extend(own.iter().cloned());
    tags
}

fn node_for(task: &Task, inherited: &BTreeSet<String>, section: Section, listed: bool) -> TaskNode {
    TaskNode {
        id: task.id,
        // `--list-tasks` shows an unnamed task by its action alone, in a role too.
        name: if task.name.is_some() { task_name(task) } else { task.action.clone() },
        short_name: short_name(task),
        tags: with_tags(inherited, &task.attrs.tags),
        span: task.span.clone(),
        section,
        guarded_by: task.guarded_by.clone(),
        listed,
    }
}

fn add_guards(graph: &mut DiGraph<TaskNode, Edge>) -> Result<(), PlanError> {
    let order: Vec<NodeIndex> = graph.node_indices().collect();
    for (pos, &ix) in order.iter().enumerate() {
        for guard in graph[ix].guarded_by.clone() {
            let matches: Vec<(usize, NodeIndex)> = order
                .iter()
                .enumerate()
                .filter(|(_, &g)| g != ix)
                .filter(|(_, &g)| {
                    let n = &graph[g];
                    n.name == guard || n.short_name == guard || n.tags.contains(&guard)
                })
                .map(|(p, &g)| (p, g))
                .collect();
            if matches.is_empty() {
                return Err(PlanError::UnknownGuard { span: graph[ix].span.clone(), guard });
            }
            for (gpos, g) in matches {
                if gpos > pos {
                    return Err(PlanError::GuardAfter { span: graph[ix].span.clone(), guard: graph[g].name.clone() });
                }
                graph.add_edge(g, ix, Edge::Guard);
            }
        }
    }
    Ok(())
}
