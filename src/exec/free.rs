//! The free strategy: each host walks the play on its own, without waiting for the others
//! at each task (Ansible's `free`; `host_pinned` runs the same way here, since every host
//! already keeps its fork until it is done). Each host gets a walker — a `Runner` sharing the
//! connections, forks and reporter — over a copy of the host states; when all are done, each
//! host's own state is taken back. Handlers flush per host, as in Ansible's free strategy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::future::join_all;

use crate::error::Diagnostic;
use crate::vars::Level;

use super::walk::PlayCtx;
use super::Runner;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Strategy {
    Linear,
    Free,
}

impl Runner {
    /// The play's `strategy`, templated with play vars and extra vars as in Ansible.
    pub(super) fn strategy(&self, ctx: &PlayCtx<'_>) -> Result<Strategy, Diagnostic> {
        let Some(raw) = &ctx.play.strategy else { return Ok(Strategy::Linear) };
        let pv = &ctx.vars;
        let scope = crate::vars::Scope::new(pv.engine.clone())
            .layer(Level::PlayVars, pv.play_vars.clone())
            .layer(Level::Magic, pv.magic.clone())
            .layer(Level::ExtraVars, pv.extra_vars.clone());
        let name = Arc::new(scope)
            .render_text(raw)
            .map_err(|e| Diagnostic::new(format!("play `strategy: {raw}`: {}", e.message)).at(&ctx.play.span))?;
        match parse(&name) {
            Some(s) => Ok(s),
            None => Err(Diagnostic::new(format!(
                "`strategy: {name}` is not supported by troupe yet (it runs linear, free and host_pinned)"
            ))
            .at(&ctx.play.span)),
        }
    }

    /// A walker for one host: shares what the run shares, starts from the current states.
    fn walker(&self, ended: &Arc<AtomicBool>) -> Runner {
        Runner {
            options: self.options.clone(),
            inventory: self.inventory.clone(),
            engine: self.engine.clone(),
            reporter: self.reporter.clone(),
            conns: self.conns.clone(),
            forks: self.forks.clone(),
            load_opts: self.load_opts.clone(),
            playbook_dir: self.playbook_dir.clone(),
            states: self.states.clone(),
            prefetch: self.prefetch.clone(),
            read_ahead: self.read_ahead,
            end_play: false,
            aborted: false,
            abort_code: 0,
            inventory_changed: false,
            dynamic_log: self.dynamic_log.clone(),
            play_ended: Some(ended.clone()),
            batch: Vec::new(),
            errors_cleared: 0,
        }
    }

    /// Run a batch with the free strategy: every host's walk at once.
    pub(super) async fn run_free(&mut self, ctx: &mut PlayCtx<'_>, batch: &[String]) {
        let ended = Arc::new(AtomicBool::new(false));
        let walks = batch.iter().map(|host| {
            let mut walker = self.walker(&ended);
            let mut ctx = ctx.clone();
            async move {
                walker.run_batch(&mut ctx, std::slice::from_ref(host)).await;
                (host, walker)
            }
        });
        for (host, walker) in join_all(walks).await {
            if let Some(state) = walker.states.get(host) {
                self.states.insert(host.clone(), state.clone());
            }
            self.aborted |= walker.aborted;
            self.abort_code = self.abort_code.max(walker.abort_code);
            if walker.inventory_changed {
                // add_host/group_by of several walkers: each adds to the inventory it started from.
                self.inventory = walker.inventory.clone();
                self.inventory_changed = true;
                self.dynamic_log = walker.dynamic_log.clone();
            }
        }
        if ended.load(Ordering::SeqCst) {
            self.end_play = true;
        }
    }

    /// The play is over for this walk: `meta: end_play`, `any_errors_fatal`, ... here or, under
    /// the free strategy, in another host's walk.
    pub(super) fn play_over(&self) -> bool {
        self.end_play || self.play_ended.as_ref().is_some_and(|e| e.load(Ordering::SeqCst))
    }

    pub(super) fn end_the_play(&mut self) {
        self.end_play = true;
        if let Some(e) = &self.play_ended {
            e.store(true, Ordering::SeqCst);
        }
    }
}

/// A strategy name (short or `ansible.builtin.`) troupe runs.
pub(super) fn parse(name: &str) -> Option<Strategy> {
    match name.trim().trim_start_matches("ansible.builtin.") {
        "linear" => Some(Strategy::Linear),
        "free" | "host_pinned" => Some(Strategy::Free),
        _ => None,
    }
}
