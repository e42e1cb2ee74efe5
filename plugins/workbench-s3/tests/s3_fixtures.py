"""A real S3-compatible server for the plugin's tests: moto's, on 127.0.0.1, with authentication on.

Every client is given the endpoint explicitly and fake credentials that only this moto server knows;
the AWS config files and instance metadata are switched off, so nothing can reach a real cloud.

Not a conftest.py: a second `conftest` module would shadow tests/conftest.py for `from conftest import ...`
when the whole suite runs in one session. Test modules import the fixtures they use from here.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass

import pytest

BUCKET = "lake"


@dataclass
class S3Server:
    endpoint: str
    key_id: str
    secret: str

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.key_id, "AWS_SECRET_ACCESS_KEY": self.secret}


_ISOLATION = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/workbench-test-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/workbench-test-aws-credentials",
    "AWS_REGION": "us-east-1",
}
_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_PROFILE",
          "WORKBENCH_S3_BUCKET")


@pytest.fixture(scope="module")
def s3() -> S3Server:
    import boto3
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as mp:
        for var, value in _ISOLATION.items():
            mp.setenv(var, value)
        for var in _UNSET:
            mp.delenv(var, raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"

        def set_free_actions(count: str) -> None:
            request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=count.encode(), method="POST",
                                             headers={"Content-Type": "application/octet-stream"})
            urllib.request.urlopen(request, timeout=10).read()

        # moto keeps its state per process, shared by every server it starts: begin from nothing, so that
        # each test module using this fixture gets its own user, key and bucket.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST"),
                               timeout=10).read()
        # Three unauthenticated calls create a user and its key; after that moto checks every signature.
        set_free_actions("3")
        boot = boto3.Session(aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap", region_name="us-east-1")
        iam = boot.client("iam", endpoint_url=endpoint)
        iam.create_user(UserName="workbench")
        iam.put_user_policy(UserName="workbench", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="workbench")["AccessKey"]
        srv = S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
        for var, value in srv.env().items():
            mp.setenv(var, value)
        boto3.Session(region_name="us-east-1").client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        try:
            yield srv
        finally:
            set_free_actions("inf")
            server.stop()
