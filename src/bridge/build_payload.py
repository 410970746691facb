# troupe's module bridge, controller side: ansible-core's own code finds a module and builds
# the payload Ansible would send to a host (AnsiballZ: the module, its module_utils and its
# arguments in one Python script). troupe starts this once per run with the Python that has
# ansible-core and talks to it in JSON lines on stdin/stdout:
#   {"op": "find", "name": "community.general.ini_file"}
#     -> {"ok": true, "fqcn": ..., "path": ...} | {"ok": false, "error": ..., "paths": [...]}
#   {"op": "library", "dir": "/path/to/library"} -> {"ok": true}
#   {"op": "build", "name": <fqcn>, "args": {...}, "interpreter": "/usr/bin/python3"}
#     -> {"ok": true, "payload": "<python source>"} | {"ok": false, "error": ...}
# Arguments (secrets among them) arrive on stdin, never on a command line. ansible-core keeps
# the zipped module body in its per-process cache (ansiballz_cache), so after the first build
# of a module a build only embeds the arguments.
import json
import os
import sys


def main():
    out = sys.stdout
    # Anything ansible-core prints (warnings, deprecations) must not mix with the replies.
    sys.stdout = sys.stderr
    try:
        import ansible
        from ansible import constants as C
        from ansible.executor import module_common
        from ansible.parsing.dataloader import DataLoader
        from ansible.plugins import loader as plugin_loader
        from ansible.template import Templar
    except Exception as e:  # noqa: BLE001 - any import failure means: no usable ansible-core
        reply(out, {"ok": False, "error": "cannot import ansible-core: %s" % e})
        return
    extra = [p for p in os.environ.get("TROUPE_PLAYBOOK_COLLECTIONS", "").split(os.pathsep) if p]
    plugin_loader.init_plugin_loader(extra or None)
    for d in os.environ.get("TROUPE_LIBRARY_DIRS", "").split(os.pathsep):
        if d:
            add_library(d, plugin_loader)
    templar = Templar(loader=DataLoader(), variables={})
    reply(out, {
        "ok": True,
        "version": ansible.__version__,
        "paths": searched_paths(C, extra),
        "core": os.path.dirname(ansible.__file__),
    })
    for line in sys.stdin:
        try:
            req = json.loads(line)
            if req["op"] == "find":
                reply(out, find(req["name"], plugin_loader))
            elif req["op"] == "library":
                add_library(req["dir"], plugin_loader)
                reply(out, {"ok": True})
            elif req["op"] == "build":
                reply(out, build(req, C, module_common, plugin_loader, templar))
            else:
                reply(out, {"ok": False, "error": "unknown op %r" % req.get("op")})
        except Exception as e:  # noqa: BLE001 - report it to troupe, keep serving
            reply(out, {"ok": False, "error": "%s: %s" % (type(e).__name__, e)})


def searched_paths(C, extra):
    """The collections paths as Ansible searches them: the playbook's own `collections/`
    folders, the configured ones, then `ansible_collections` beside ansible-core."""
    paths = list(extra) + [os.path.expanduser(p) for p in C.COLLECTIONS_PATHS]
    paths += [os.path.join(p, "ansible_collections") for p in sys.path if p.endswith("-packages")]
    return paths


def ansible_version():
    import ansible
    return ansible.__version__


def add_library(path, plugin_loader):
    """A playbook's or role's `library/` (and the `module_utils/` beside it), as Ansible adds them."""
    plugin_loader.module_loader.add_directory(path)
    utils = os.path.join(os.path.dirname(path.rstrip(os.sep)), "module_utils")
    if os.path.isdir(utils):
        plugin_loader.module_utils_loader.add_directory(utils)


def reply(out, value):
    out.write(json.dumps(value) + "\n")
    out.flush()


def find(name, plugin_loader):
    """Where ansible-core finds the module `name` (bare names as ansible.legacy, as Ansible)."""
    ctx = plugin_loader.module_loader.find_plugin_with_context(name, collection_list=None)
    if not ctx.resolved or not ctx.plugin_resolved_path:
        why = "; ".join(str(x) for x in (getattr(ctx, "exit_reason", None),) if x)
        return {"ok": False, "error": why or "not found"}
    fqcn = ctx.resolved_fqcn or name
    path = ctx.plugin_resolved_path
    if not path.endswith(".py"):
        return {"ok": False, "error": "%s is not a Python module (%s)" % (fqcn, path)}
    # A module with an action plugin of its own name runs controller-side code first (copy,
    # template, synchronize...): running only its remote half would not be that module.
    action = plugin_loader.action_loader.find_plugin_with_context(fqcn, collection_list=None)
    if action.resolved and not (action.resolved_fqcn or "").endswith(".normal"):
        return {"ok": True, "fqcn": fqcn, "path": path, "action_plugin": action.resolved_fqcn}
    return {"ok": True, "fqcn": fqcn, "path": path, "action_plugin": None}


def build(req, C, module_common, plugin_loader, templar):
    found = find(req["name"], plugin_loader)
    if not found["ok"]:
        return found
    fqcn, path = found["fqcn"], found["path"]
    short = fqcn.rsplit(".", 1)[-1]
    task_vars = {"ansible_python_interpreter": req["interpreter"]}
    args = dict(req["args"])
    # What ActionBase._update_module_args adds from ansible-core's configuration.
    defaults = {
        "_ansible_debug": C.DEFAULT_DEBUG,
        "_ansible_verbosity": 0,
        "_ansible_version": ansible_version(),
        "_ansible_syslog_facility": C.DEFAULT_SYSLOG_FACILITY,
        "_ansible_selinux_special_fs": C.DEFAULT_SELINUX_SPECIAL_FS,
        "_ansible_socket": None,
        "_ansible_shell_executable": "/bin/sh",
        "_ansible_keep_remote_files": False,
        "_ansible_tmpdir": None,
        "_ansible_remote_tmp": "~/.ansible/tmp",
        "_ansible_ignore_unknown_opts": False,
        "_ansible_target_log_info": None,
        "_ansible_tracebacks_for": [],
    }
    for key, value in defaults.items():
        args.setdefault(key, value)
    built = module_common.modify_module(
        module_name=short,
        module_path=path,
        module_args=args,
        templar=templar,
        task_vars=task_vars,
        module_compression=C.DEFAULT_MODULE_COMPRESSION,
    )
    if built.module_style != "new":
        return {"ok": False, "error": "%s is an old-style (%s) module; the bridge runs AnsiballZ modules only"
                % (fqcn, built.module_style)}
    data = built.b_module_data
    return {"ok": True, "payload": data.decode("utf-8") if isinstance(data, bytes) else data}


if __name__ == "__main__":
    main()
