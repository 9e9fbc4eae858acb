#!/usr/bin/env python3
"""Validates runbook files against schema/runbook.schema.json.

Prints one line per file: `ok FILE` or `invalid FILE: reason`. Used by the
test that checks the schema agrees with the loader.
"""
import json
import pathlib
import sys

import jsonschema
import yaml

root = pathlib.Path(__file__).resolve().parent.parent
schema = json.loads((root / "schema/runbook.schema.json").read_text())
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
for name in sys.argv[1:]:
    try:
        document = yaml.safe_load(pathlib.Path(name).read_text())
    except yaml.YAMLError as error:
        print(f"invalid {name}: YAML: {str(error).splitlines()[0]}")
        continue
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    if errors:
        print(f"invalid {name}: {errors[0].message}")
    else:
        print(f"ok {name}")
