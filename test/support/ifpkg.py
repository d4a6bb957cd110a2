#!/usr/bin/env python3
"""Builds and checks Dify `.ifpkg` app packages the way Dify does, for the tests.

Written from langgenius/dify `api/services/app_package_service.py`:
- `build DSL_FILE OUT [--resource NAME=FILE ...]`: `AppPackageService.export` — a ZIP_DEFLATED
  zipfile holding `manifest.yaml` (yaml.safe_dump of the manifest model, exclude_defaults) then
  `app.yaml`; with `--resource`, agent file resources written first (as
  `AgentPackageResourceExporter.write_resources` does) and listed under `agent_resources`.
- `check PKG`: the checks of `read_package` (and the bounded reader of
  `api/services/agent/roster_package_reader.py`) that a write-back can break: a valid ZIP, root
  members only, no duplicates, members exactly the manifest's paths, the manifest model
  (format, format_version, one app with path/size/sha256), the app member's size and sha256,
  every resource's size and sha256, the DSL `kind: app` with a known mode, read with a loader
  refusing aliases and duplicate keys. Prints "ok" or the reason, exit 0 / 1.
"""
import hashlib
import io
import posixpath
import sys
import zipfile

import yaml


class StrictLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise ValueError("YAML aliases are not supported")
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        result = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise ValueError("YAML mapping keys must be strings")
            if key in result:
                raise ValueError("duplicate YAML key: %s" % key)
            result[key] = self.construct_object(value_node, deep=deep)
        return result


MODES = {"workflow", "advanced-chat", "chat", "completion", "agent-chat", "channel", "rag-pipeline"}


def build(dsl_path, out_path, resources):
    payload = open(dsl_path, "rb").read()
    with zipfile.ZipFile(out_path, "w", compression=zipfile.ZIP_DEFLATED) as package:
        files = []
        for i, (name, path) in enumerate(resources, start=1):
            data = open(path, "rb").read()
            rid = "f_%06d" % i
            member = "%s.%s" % (rid, name.rsplit(".", 1)[-1])
            package.writestr(member, data)
            files.append({"id": rid, "path": member, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                          "role": "agent_config_file", "original_name": name})
        manifest = {"format": "dify.app", "format_version": 1,
                    "apps": [{"path": "app.yaml", "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}]}
        if files:
            manifest["agent_resources"] = {"agent_1": {"files": files}}
        package.writestr("manifest.yaml", yaml.safe_dump(manifest))
        package.writestr("app.yaml", payload)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def check(pkg_path):
    data = open(pkg_path, "rb").read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if archive.testzip() is not None:
            return "bad CRC"
        infos = {}
        for info in archive.infolist():
            name = info.filename
            if info.is_dir() or "\\" in name or posixpath.normpath(name) != name or "/" in name:
                return "unsafe member %r" % name
            if info.flag_bits & 0x1:
                return "encrypted member"
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                return "unsupported compression"
            if name in infos:
                return "duplicate member"
            infos[name] = info
        manifest = yaml.load(archive.read("manifest.yaml"), Loader=StrictLoader)
        if not isinstance(manifest, dict) or set(manifest) - {"format", "format_version", "apps", "agent_resources"}:
            return "manifest keys"
        if manifest.get("format") != "dify.app" or manifest.get("format_version") != 1:
            return "manifest format"
        apps = manifest.get("apps")
        if not isinstance(apps, list) or len(apps) != 1:
            return "manifest apps"
        app = apps[0]
        if set(app) - {"path", "size", "sha256", "audit"} or not isinstance(app.get("size"), int):
            return "manifest app entry"
        resources = [item for group in (manifest.get("agent_resources") or {}).values()
                     for item in [*group.get("skills", []), *group.get("files", [])]]
        if set(infos) != {"manifest.yaml", app["path"], *(r["path"] for r in resources)}:
            return "members do not match the manifest"
        payload = archive.read(app["path"])
        if len(payload) != app["size"] or sha(payload) != app["sha256"]:
            return "app size or sha256 mismatch"
        for r in resources:
            body = archive.read(r["path"])
            if len(body) != r["size"] or sha(body) != r["sha256"]:
                return "resource %s mismatch" % r["path"]
        dsl = yaml.load(payload, Loader=StrictLoader)
        if not isinstance(dsl, dict) or dsl.get("kind") != "app" or not isinstance(dsl.get("app"), dict) \
                or dsl["app"].get("mode") not in MODES:
            return "DSL is invalid"
    return "ok"


def main(argv):
    if argv[1] == "build":
        res = []
        rest = argv[4:]
        while rest:
            if rest[0] == "--resource":
                name, path = rest[1].split("=", 1)
                res.append((name, path))
                rest = rest[2:]
            else:
                raise SystemExit("unknown argument %s" % rest[0])
        build(argv[2], argv[3], res)
        return 0
    if argv[1] == "check":
        try:
            verdict = check(argv[2])
        except Exception as exc:  # what Dify turns into InvalidRosterAgentPackageError
            verdict = "%s: %s" % (type(exc).__name__, exc)
        print(verdict)
        return 0 if verdict == "ok" else 1
    raise SystemExit("usage: ifpkg.py build DSL OUT [--resource NAME=FILE] | check PKG")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
