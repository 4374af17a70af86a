"""boto3 CloudWatch clients that speak one chosen protocol of the model's three.

botocore picks smithy-rpc-v2-cbor from the model's `protocols`; other SDKs use json or
query. A client for another one loads the same model with `protocols` narrowed to it.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from cloudlet_process import REGION, ROOT_KEY, ROOT_SECRET

PROTOCOLS = ("smithy-rpc-v2-cbor", "json", "query")


def _data_dir(root: Path, protocol: str) -> Path:
    loader = botocore.loaders.create_loader()
    model = loader.load_service_model("cloudwatch", "service-2")
    version = model["metadata"]["apiVersion"]
    model["metadata"]["protocols"] = [protocol]
    model["metadata"]["protocol"] = protocol
    target = root / protocol / "cloudwatch" / version
    target.mkdir(parents=True, exist_ok=True)
    (target / "service-2.json").write_text(json.dumps(model))
    # The endpoint rules come from the installed data (same directory name).
    rules = loader.load_service_model("cloudwatch", "endpoint-rule-set-1")
    (target / "endpoint-rule-set-1.json.gz").write_bytes(gzip.compress(json.dumps(rules).encode()))
    return root / protocol


def cloudwatch_client(endpoint_url: str, protocol: str, tmp_root: Path, **kw: Any) -> Any:
    core = botocore.session.Session()
    if protocol != PROTOCOLS[0]:
        core.get_component("data_loader").search_paths.insert(0, str(_data_dir(tmp_root, protocol)))
    args: dict[str, Any] = {
        "endpoint_url": endpoint_url,
        "region_name": REGION,
        "aws_access_key_id": ROOT_KEY,
        "aws_secret_access_key": ROOT_SECRET,
    }
    args.update(kw)
    return boto3.session.Session(botocore_session=core).client("cloudwatch", **args)
