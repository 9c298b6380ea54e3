#!/usr/bin/env python3
"""Validate gadugi's files against the JSON Schemas in this folder.

    validate.py [--strict] NAME FILE...      NAME: progress, report, registry, event, status, run,
                                             worktree, config, plan, review, merge, clean or
                                             submit; '-' reads standard input
    validate.py [--strict] --spool ROOT      every file of the spool at ROOT that has a schema

events.jsonl is checked line by line; config.yaml is read as YAML (needs PyYAML). With --strict,
every object is closed (unevaluatedProperties: false), so a field that a schema does not describe
fails: the test suite uses it to keep the schemas complete. Without it, fields added in later
versions are accepted, which is what a consumer should do. Needs python's jsonschema (4.0 or
later). Exit status: 0 all valid, 1 something is not, 2 usage error.
"""
import copy
import glob
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    sys.exit("validate.py needs python's jsonschema (4.0 or later): apt-get install python3-jsonschema, or pip install jsonschema")

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = ["progress", "report", "registry", "event", "status", "run", "worktree", "config",
         "plan", "review", "merge", "clean", "submit"]


def closed(schema, under_defs=False):
    """A copy in which every object schema that lists properties or refers to one is closed;
    the direct children of $defs stay open so that schemas extending them (with $ref) can add."""
    if isinstance(schema, list):
        return [closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "$defs":
            out[key] = {name: closed(d, under_defs=True) for name, d in value.items()}
        elif key in ("properties", "patternProperties"):
            out[key] = {name: closed(s) for name, s in value.items()}
        elif isinstance(value, (dict, list)) and key not in ("enum", "const", "required"):
            out[key] = closed(value)
        else:
            out[key] = value
    if not under_defs and ("properties" in out or "$ref" in out) and "unevaluatedProperties" not in out:
        out["unevaluatedProperties"] = False
    return out


def absolute(schema, base):
    """The same schema with local references ('#/$defs/x') made absolute ('urn:...#/$defs/x'), which
    older resolvers need to follow a reference made from another document."""
    if isinstance(schema, list):
        return [absolute(s, base) for s in schema]
    if not isinstance(schema, dict):
        return schema
    return {k: (base + v if k == "$ref" and v.startswith("#") else absolute(v, base)) for k, v in schema.items()}


def validators(strict):
    schemas = {}
    for name in NAMES:
        with open(os.path.join(HERE, name + ".schema.json")) as f:
            schemas[name] = json.load(f)
    schemas = {n: absolute(s, s["$id"]) for n, s in schemas.items()}
    if strict:
        schemas = {n: closed(s) for n, s in schemas.items()}
    try:  # jsonschema 4.18 and later
        from referencing import Registry, Resource
        registry = Registry().with_resources(
            (s["$id"], Resource.from_contents(s)) for s in schemas.values())
        return {n: jsonschema.Draft202012Validator(s, registry=registry) for n, s in schemas.items()}
    except ImportError:  # Debian 12's 4.10: the resolver that 4.18 deprecated
        store = {s["$id"]: s for s in schemas.values()}
        return {n: jsonschema.Draft202012Validator(s, resolver=jsonschema.RefResolver.from_schema(s, store=store))
                for n, s in schemas.items()}


def documents(name, path):
    """(label, value) pairs of one file: a line each for events, YAML for config."""
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    if name == "config":
        import yaml
        yield path, (yaml.safe_load(text) or {})
    elif name == "event":
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield f"{path}:{number}", json.loads(line)
    else:
        yield path, json.loads(text)


def spool_files(root):
    g = os.path.join(root, ".gadugi")
    pairs = [("registry", os.path.join(g, "monitoring", "registry.json")),
             ("config", os.path.join(g, "config.yaml"))]
    pairs += [("event", p) for p in sorted(glob.glob(os.path.join(g, "monitoring", "events*.jsonl")))]
    for kind, file in [("progress", "progress.json"), ("report", "report.json"), ("worktree", "worktree.json")]:
        pairs += [(kind, p) for p in sorted(glob.glob(os.path.join(g, "monitoring", "tasks", "*", file)))]
    return [(n, p) for n, p in pairs if os.path.exists(p)]


def main(argv):
    strict = "--strict" in argv
    argv = [a for a in argv if a != "--strict"]
    if len(argv) == 2 and argv[0] == "--spool":
        pairs = spool_files(argv[1])
    elif len(argv) >= 2 and argv[0] in NAMES:
        pairs = [(argv[0], p) for p in argv[1:]]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    checks = validators(strict)
    bad = 0
    count = 0
    for name, path in pairs:
        for label, value in documents(name, path):
            count += 1
            for error in sorted(checks[name].iter_errors(value), key=lambda e: list(e.path)):
                bad += 1
                where = "/".join(str(p) for p in error.absolute_path) or "(top)"
                print(f"{label}: {name}: at {where}: {error.message}")
    print(f"{count} document(s) checked, {bad} problem(s)", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
