#!/usr/bin/env python3
"""Validates files against one of triage's JSON Schemas.

    check-schema.py [--report] FILE...

Without --report: runbook files (YAML) against schema/runbook.schema.json;
with it: report.json files against schema/report.schema.json. Prints one
line per file: `ok FILE` or `invalid FILE: reason (at path)`. Used by the
tests that check each schema agrees with the code.
"""
import json
import pathlib
import sys

import jsonschema
import yaml

root = pathlib.Path(__file__).resolve().parent.parent
args = sys.argv[1:]
report = bool(args) and args[0] == "--report"
if report:
    args = args[1:]
schema = json.loads((root / ("schema/report.schema.json" if report else "schema/runbook.schema.json")).read_text())
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
for name in args:
    text = pathlib.Path(name).read_text()
    try:
        document = json.loads(text) if report else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as error:
        print(f"invalid {name}: {'JSON' if report else 'YAML'}: {str(error).splitlines()[0]}")
        continue
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path)
        print(f"invalid {name}: {errors[0].message[:300]} (at /{where})")
    else:
        print(f"ok {name}")
