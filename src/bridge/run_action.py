# troupe's action-plugin runner, controller side: a playbook's or role's own action plugin
# (`action_plugins/NAME.py`) runs here, in ansible-core's ActionBase, as Ansible runs it.
# What the plugin does on the host comes back to troupe, which does it over its own
# connection and answers. JSON lines on stdin/stdout:
#   troupe -> {"plugin": path, "name": ..., "args": {...}, "task_vars": {...}, "check_mode": b,
#              "diff": b, "no_log": b, "action_dirs": [...], "library_dirs": [...], "basedir": ...}
#   runner -> {"op": "module", "name": ..., "args": {...}}      troupe -> the module's result
#   runner -> {"op": "command", "cmd": ..., "stdin": ...}      troupe -> {"rc", "stdout", "stderr"}
#   runner -> {"op": "done", "result": {...}}
# Arguments and results (secrets among them) travel on the pipes, never on a command line.
import json
import sys


class Host:
    """The pipes to troupe: a request, then its answer."""

    def __init__(self, out, inp):
        self.out, self.inp = out, inp

    def send(self, value):
        self.out.write(json.dumps(value, default=str) + "\n")
        self.out.flush()

    def call(self, value):
        self.send(value)
        line = self.inp.readline()
        if not line:
            raise RuntimeError("troupe closed the action plugin's pipe")
        return json.loads(line)


def main():
    out, inp = sys.stdout, sys.stdin
    # Anything ansible-core or the plugin prints must not mix with the protocol.
    sys.stdout = sys.stderr
    host = Host(out, inp)
    req = json.loads(inp.readline())
    try:
        result = run(req, host)
    except Exception as e:  # noqa: BLE001 - the runner itself failed: say why
        result = {"failed": True, "msg": "troupe could not run action plugin %s: %s: %s"
                  % (req.get("name"), type(e).__name__, e)}
    host.send({"op": "done", "result": result})


def run(req, host):
    from ansible import context
    from ansible.module_utils.common.collections import ImmutableDict
    from ansible.plugins import loader as plugin_loader

    context.CLIARGS = ImmutableDict(check=req["check_mode"], diff=req["diff"], verbosity=0)
    plugin_loader.init_plugin_loader(None)
    for d in req["action_dirs"]:
        plugin_loader.action_loader.add_directory(d)
    for d in req["library_dirs"]:
        plugin_loader.module_loader.add_directory(d)

    from ansible._internal._errors import _captured, _error_utils
    from ansible.errors import AnsibleTaskError
    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook.play_context import PlayContext
    from ansible.playbook.task import Task
    from ansible.plugins.action import ActionBase
    from ansible.template import Templar

    def execute_module(self, module_name=None, module_args=None, tmp=None, task_vars=None, persist_files=False,
                       delete_remote_tmp=None, wrap_async=False, ignore_unknown_opts=False):
        name = module_name or self._task.action
        args = dict(self._task.args if module_args is None else module_args)
        data = host.call({"op": "module", "name": name, "args": args})
        # As ActionBase does with a module's result: its error detail is the module's.
        _captured.AnsibleModuleCapturedError.normalize_result_exception(data)
        return data

    def low_level(self, cmd, sudoable=True, in_data=None, executable=None,
                  encoding_errors="surrogate_then_replace", chdir=None):
        if isinstance(in_data, bytes):
            in_data = in_data.decode("utf-8", "surrogateescape")
        r = host.call({"op": "command", "cmd": cmd, "stdin": in_data, "chdir": chdir, "sudoable": sudoable})
        r["stdout_lines"] = r["stdout"].splitlines()
        return r

    ActionBase._execute_module = execute_module
    ActionBase._low_level_execute_command = low_level

    task = Task()
    task.action = req["name"]
    task.args = req["args"]
    task.check_mode = req["check_mode"]
    task.diff = req["diff"]
    task.no_log = req["no_log"]
    loader = DataLoader()
    loader.set_basedir(req["basedir"])
    task_vars = req["task_vars"]
    templar = Templar(loader=loader, variables=task_vars)
    play_context = PlayContext()
    play_context.check_mode = req["check_mode"]
    play_context.diff = req["diff"]
    connection = Connection(play_context, plugin_loader)
    action = plugin_loader.action_loader.get(req["name"], task=task, connection=connection,
                                             play_context=play_context, loader=loader, templar=templar,
                                             shared_loader_obj=plugin_loader)
    if action is None:
        return {"failed": True, "msg": "ansible-core could not load the action plugin %s" % req["plugin"]}
    try:
        result = action.run(task_vars=task_vars)
        _captured.AnsibleActionCapturedError.maybe_raise_on_result(result)
    except Exception as ex:  # noqa: BLE001 - as Ansible's TaskExecutor._execute
        try:
            raise AnsibleTaskError() from ex
        except AnsibleTaskError as atex:
            result = _error_utils.result_dict_from_exception(atex, accept_result_contribution=True)
            result.setdefault("changed", False)
    result.pop("exception", None)
    return result


class Connection:
    """What an action plugin sees of the connection; commands go through troupe's."""

    has_native_async = False
    always_pipeline_modules = False
    has_pipelining = True
    become = None
    transport = "troupe"

    def __init__(self, play_context, plugin_loader):
        self._play_context = play_context
        self._shell = plugin_loader.shell_loader.get("sh")
        self._shell.tmpdir = None


if __name__ == "__main__":
    main()
