//! A playbook's and a role's own action plugins (`action_plugins/NAME.py`), run as
//! ansible-core runs them (issue 11's ansint targets tasks, until, lookup_first_found), and
//! free-form arguments to an action that takes none, refused when the task runs. Each run is
//! compared with ansible-playbook's; both need ansible-core, which CI installs.

use crate::support::compare::check;
use crate::support::run::ansible_playbook;
use crate::support::testbed::skip;

/// Local hosts; Ansible's modules run with its own Python (no interpreter discovery).
const LOCAL: &str =
    "[g]\nh1 ansible_connection=local\n[all:vars]\nansible_python_interpreter={{ ansible_playbook_python }}\n";

/// A re-export of ansible-core's debug action: troupe's debug runs it.
const ALIAS: &str = "# an alias\nfrom __future__ import annotations\n\nfrom ansible.plugins.action.debug import ActionModule\n\nassert ActionModule\n";

/// Fails as asked: by raising, or with a result that carries `exception`; checks its argument spec.
const EXPLODE: &str = r#"
from __future__ import annotations
from ansible.plugins.action import ActionBase

class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        args = self.validate_argument_spec(argument_spec=dict(
            how=dict(default='raise', choices=['raise', 'result'], type='str')))
        if args[0].validated_parameters['how'] == 'raise':
            raise Exception("blown up in the action")
        return dict(exception="a captured traceback", failed=True, msg="broken on purpose")
"#;

/// Runs a module and a low-level command on the host, and reads a task variable.
const ON_HOST: &str = r#"
from __future__ import annotations
from ansible.plugins.action import ActionBase

class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        mod = self._execute_module(module_name='ansible.legacy.command',
                                   module_args={'_raw_params': 'echo from-command'}, task_vars=task_vars)
        low = self._low_level_execute_command('printf from-low', sudoable=False)
        result.update(changed=False, said=mod['stdout'], low=low['stdout'], seen=task_vars.get('marker'),
                      arg=self._task.args.get('word'))
        return result
"#;

/// Ansible's until target's plugin: the shell action, with `failed` dropped from its result.
const SHELL_NO_FAILED: &str = r#"
from __future__ import annotations
from ansible.plugins.action import ActionBase

class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        try:
            self._task.args['_raw_params'] = self._task.args.pop('cmd')
        except KeyError:
            pass
        shell = self._shared_loader_obj.action_loader.get('ansible.legacy.shell', task=self._task,
            connection=self._connection, play_context=self._play_context, loader=self._loader,
            templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        result = shell.run(task_vars=task_vars)
        result.pop('failed', None)
        return result
"#;

const ROLE_PLUGIN: &str = r#"
from __future__ import annotations
from ansible.plugins.action import ActionBase

class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        return dict(changed=True, note='from the role plugin')
"#;

const PLAY: &str = r#"
- hosts: g
  gather_facts: false
  vars:
    marker: m1
    counter: "{{ playbook_dir }}/counter"
  roles: [r]
  tasks:
    - say_alias:
        msg: through the alias
    - explode:
      ignore_errors: true
      register: raised
    - debug: msg="{{ raised.msg }} / {{ raised is failed }}"
    - explode: how=result
      ignore_errors: true
      register: returned
    - debug: msg="{{ returned.msg }} / {{ returned is failed }}"
    - explode: how=bogus
      ignore_errors: true
      register: bad
    - debug: msg="{{ bad.msg }}"
    - on_host: word=w1
      register: r
    - debug: msg="{{ r.said }} {{ r.low }} {{ r.seen }} {{ r.arg }} {{ r is changed }}"
    - copy: dest="{{ counter }}" content=2
    - shell_no_failed:
        cmd: 'n=$(cat "{{ counter }}"); echo $((n - 1)) > "{{ counter }}"; exit $n'
      register: count
      delay: 0
      until: count.rc == 0
    - debug: msg="rc {{ count.rc }} after {{ count.attempts }} attempts"
    - name: free-form text for an action that takes none fails when it runs
      debug:
        garbage here
      ignore_errors: true
      register: raw
    - debug: msg="{{ raw.msg }}"
"#;

#[test]
fn own_action_plugins_run_as_ansible_runs_them() {
    let Some(ap) = ansible_playbook() else {
        skip("skipped: action plugins need ansible-core (scripts/test.sh installs it)");
        return;
    };
    let python = ap.with_file_name("python3").display().to_string();
    check(
        &[
            ("inv", LOCAL),
            ("p.yml", PLAY),
            ("action_plugins/say_alias.py", ALIAS),
            ("action_plugins/explode.py", EXPLODE),
            ("action_plugins/on_host.py", ON_HOST),
            ("action_plugins/shell_no_failed.py", SHELL_NO_FAILED),
            ("roles/r/action_plugins/role_plugin.py", ROLE_PLUGIN),
            (
                "roles/r/tasks/main.yml",
                "- role_plugin:\n  register: rp\n- debug: msg=\"{{ rp.note }} {{ rp is changed }}\"\n",
            ),
        ],
        &["-i", "inv", "p.yml"],
        &[("TROUPE_ANSIBLE_PYTHON", &python)],
        &[
            r#""msg": "from the role plugin True""#,
            r#""msg": "through the alias""#,
            r#""msg": "Task failed: blown up in the action / True""#,
            r#""msg": "broken on purpose / True""#,
            r#""msg": "value of how must be one of: raise, result, got: bogus""#,
            r#""msg": "from-command from-low m1 w1 False""#,
            r#""msg": "rc 0 after 3 attempts""#,
            r#""msg": "Task failed: Action 'ansible.builtin.debug' does not support raw params.""#,
        ],
    );
}
