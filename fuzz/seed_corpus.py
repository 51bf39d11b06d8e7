#!/usr/bin/env python3
"""Writes the fuzz seed corpora from the policies' case tables (policies/<p>/test_data/cases.yaml).

fuzz/corpus/validate_<p>/  one `{"request": ..., "settings": ...}` payload per case, the request built as
                           the case table builds it (AdmissionRequest files are read as they are);
fuzz/corpus/settings_<p>/  one settings document per settings case and per validate case's settings;
fuzz/corpus/sdk_parsers/   every object and oldObject of every case;
fuzz/corpus/convert_round_trip/  every DGD among them;
fuzz/corpus/cluster_<p>/   the validate payloads again, as raw bytes (the target reads its input as choices
                           that shape a namespace, not as JSON);
fuzz/corpus/promql/        every query of every ScaledObject trigger in the cases and the examples;
fuzz/corpus/check_documents/  every file of examples/ and deploy/.
Seeds are named by the SHA-1 of their content, as libFuzzer names its own.
"""
import hashlib
import json
import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def build_request(case, policy):
    spec = case["request"]
    if isinstance(spec, str):
        document = yaml.safe_load((ROOT / "policies" / policy / "test_data" / spec).read_text())
        return document.get("request", document) if document.get("kind") == "AdmissionReview" else document
    source = spec.get("object") if isinstance(spec.get("object"), dict) else spec.get("oldObject") or {}
    group, _, version = (source.get("apiVersion") or "").rpartition("/")
    kind = source.get("kind") or ""
    request = {
        "uid": case["name"],
        "kind": {"group": group, "version": version, "kind": kind},
        "name": (source.get("metadata") or {}).get("name", ""),
        "namespace": (source.get("metadata") or {}).get("namespace", ""),
        "operation": spec["operation"],
        "object": spec.get("object"),
        "oldObject": spec.get("oldObject"),
    }
    if "userInfo" in spec:
        request["userInfo"] = spec["userInfo"]
    return request


def write(target, document):
    write_bytes(target, json.dumps(document, separators=(",", ":")).encode())


def write_bytes(target, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    for table in sorted(ROOT.glob("policies/*/test_data/cases.yaml")):
        policy = table.parent.parent.name
        short = policy.removeprefix("dynamo-").replace("-", "_")
        cases = yaml.safe_load(table.read_text())
        for case in cases.get("cases", []):
            request = build_request(case, policy)
            settings = case.get("settings") or {}
            write(f"validate_{short}", {"request": request, "settings": settings})
            write(f"cluster_{short}", {"request": request, "settings": settings})
            write(f"settings_{short}", settings)
            for key in ("object", "oldObject"):
                if isinstance(request.get(key), dict):
                    write("sdk_parsers", request[key])
                    if request[key].get("kind") == "DynamoGraphDeployment":
                        write("convert_round_trip", request[key])
                    write_queries(request[key])
            for item in case.get("cluster") or []:
                if isinstance(item, dict) and item.get("kind") == "DynamoGraphDeployment":
                    write("convert_round_trip", item)
                write_queries(item)
        for case in cases.get("settings", []):
            write(f"settings_{short}", case["settings"])
    for path in sorted([*ROOT.glob("examples/**/*.yaml"), *ROOT.glob("deploy/**/*.yaml")]):
        write_bytes("check_documents", path.read_bytes())
        for document in yaml.safe_load_all(path.read_text()):
            write_queries(document)


def write_queries(document):
    """Every `query` of a ScaledObject's triggers."""
    if not isinstance(document, dict) or document.get("kind") != "ScaledObject":
        return
    spec = document.get("spec")
    triggers = spec.get("triggers") if isinstance(spec, dict) else None
    for trigger in triggers if isinstance(triggers, list) else []:
        metadata = trigger.get("metadata") if isinstance(trigger, dict) else None
        query = metadata.get("query") if isinstance(metadata, dict) else None
        if isinstance(query, str):
            write_bytes("promql", query.encode())


if __name__ == "__main__":
    main()
