#!/usr/bin/env python3
"""Runs an AWS-style Python rotation Lambda under Arca's `exec` rotator.

Arca's exec rotator starts this program once per rotation step with the event a rotation Lambda gets
on stdin ({"SecretId": ARN, "ClientRequestToken": TOKEN, "Step": STEP}) and AWS_ENDPOINT_URL set to
Arca's own URL. The wrapper loads the Lambda module, calls its handler with that event and a small
context object, and exits 0 when the handler returns, 1 when it raises (the traceback goes to stderr,
which Arca logs at debug level).

Usage (the command of an exec rotator in Arca's config; the interpreter is named there):

    command: ["/usr/bin/python3", "/opt/rotation/lambda_wrapper.py", "/opt/rotation/my_lambda.py"]

The argument is a .py file or an importable module name, optionally followed by ":handler"
(default: lambda_handler). Without an argument, ARCA_LAMBDA_MODULE names it.

boto3 and AWS_ENDPOINT_URL: botocore reads AWS_ENDPOINT_URL itself only from version 1.31 on;
Debian 12's python3-boto3 (boto3 1.26 / botocore 1.29) ignores it and would call the real AWS.
So the wrapper makes AWS_ENDPOINT_URL the default endpoint_url of every boto3 client and resource
it creates (an explicit endpoint_url still wins), whatever the botocore version.
"""

import importlib
import importlib.util
import json
import logging
import os
import sys
import time
import traceback
import uuid


def point_boto3_at(endpoint_url):
    """Makes `endpoint_url` the default endpoint of boto3 clients and resources."""
    import boto3
    import boto3.session

    session_cls = boto3.session.Session
    if getattr(session_cls, "_arca_endpoint_patched", False):
        return
    original_client = session_cls.client
    original_resource = session_cls.resource

    def client(self, *args, **kwargs):
        if kwargs.get("endpoint_url") is None:
            kwargs["endpoint_url"] = endpoint_url
        return original_client(self, *args, **kwargs)

    def resource(self, *args, **kwargs):
        if kwargs.get("endpoint_url") is None:
            kwargs["endpoint_url"] = endpoint_url
        return original_resource(self, *args, **kwargs)

    session_cls.client = client
    session_cls.resource = resource
    session_cls._arca_endpoint_patched = True
    # boto3.client() uses a default session made earlier, if any: it is of the same class.
    boto3.DEFAULT_SESSION = None


def load_handler(spec):
    """`path/to/file.py[:handler]` or `module.name[:handler]` -> the handler function."""
    target, _, handler_name = spec.partition(":")
    handler_name = handler_name or "lambda_handler"
    if target.endswith(".py") or os.sep in target:
        path = os.path.abspath(target)
        name = os.path.splitext(os.path.basename(path))[0]
        sys.path.insert(0, os.path.dirname(path))  # its sibling modules import as in a Lambda
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    handler = getattr(module, handler_name, None)
    if not callable(handler):
        raise AttributeError(f"{target} has no function {handler_name}")
    return handler


class LambdaContext:
    """The parts of the Lambda context object rotation functions use."""

    def __init__(self, function_name, timeout_seconds=60):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = os.environ.get("ARCA_ROTATOR_ARN", "")
        self.memory_limit_in_mb = 128
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = "arca-exec-rotator"
        self.log_stream_name = function_name
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main(argv):
    spec = argv[1] if len(argv) > 1 else os.environ.get("ARCA_LAMBDA_MODULE", "")
    if not spec:
        print("usage: lambda_wrapper.py MODULE_OR_FILE[:handler] (or set ARCA_LAMBDA_MODULE)",
              file=sys.stderr)
        return 2
    # Lambda's runtime logs INFO and up; rotation templates log through the root logger.
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(levelname)s %(name)s %(message)s")
    event = json.loads(sys.stdin.read())
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        point_boto3_at(endpoint)
    try:
        handler = load_handler(spec)
        handler(event, LambdaContext(os.path.basename(spec.partition(":")[0])))
    except Exception:  # noqa: BLE001 - any failure of the Lambda fails the step
        traceback.print_exc(file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
