"""The SAM template: lint, then the CloudFormation that aws-sam-translator makes of it.

No network and no AWS credentials: the translator gets a region from the environment and a
managed-policy loader stub; the local CodeUri is swapped for an S3 URI as `sam package` would.
"""

from __future__ import annotations

import ast
import copy
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import loads
from packaging.requirements import Requirement
from samtranslator.translator.transform import transform

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template.yaml"

FUNCTION = "SkillFunction"
TABLE = "CrampTable"
LOG_GROUP = "SkillLogGroup"
ALEXA_PRINCIPAL = "alexa-appkit.amazon.com"
# The only DynamoDB calls the persistence code makes (docs/ARCHITECTURE.md).
TABLE_ACTIONS = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
}

Template = dict[str, Any]


class NoManagedPolicies:
    """Stands in for ManagedPolicyLoader, which would ask IAM for the managed policy list."""

    def load(self) -> dict[str, str]:
        return {}


def load_template() -> Template:
    parsed: Template = loads(TEMPLATE.read_text(encoding="utf-8"), str(TEMPLATE))
    return parsed


@pytest.fixture(scope="module")
def sam() -> Template:
    return load_template()


@pytest.fixture(scope="module")
def cfn(sam: Template) -> Template:
    template = copy.deepcopy(sam)
    template["Resources"][FUNCTION]["Properties"]["CodeUri"] = "s3://artifacts/skill.zip"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.delenv("AWS_PROFILE", raising=False)
        translated: Template = transform(template, {}, NoManagedPolicies())
    return translated


def of_type(template: Template, resource_type: str) -> dict[str, Template]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def only(template: Template, resource_type: str) -> tuple[str, Template]:
    found = of_type(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- lint -------------------------------------------------------------------------------------


def test_cfn_lint_is_clean() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from cfnlint.runner import main; sys.exit(main())",
            str(TEMPLATE),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


# --- Alexa trigger --------------------------------------------------------------------------


def test_only_the_skill_may_invoke_the_alias(cfn: Template) -> None:
    _, permission = only(cfn, "AWS::Lambda::Permission")
    alias_name, _ = only(cfn, "AWS::Lambda::Alias")
    props = permission["Properties"]
    assert props["Principal"] == ALEXA_PRINCIPAL
    assert props["Action"] == "lambda:InvokeFunction"
    # Skill id verification: Lambda rejects Alexa calls from any other skill.
    assert props["EventSourceToken"] == {"Ref": "SkillId"}
    # The permission is on the alias the endpoint points at, not on $LATEST.
    assert props["FunctionName"] == {"Ref": alias_name}


def test_skill_id_parameter_is_required_and_checked(sam: Template) -> None:
    param = sam["Parameters"]["SkillId"]
    assert "Default" not in param
    pattern = re.compile(param["AllowedPattern"])
    assert pattern.match("amzn1.ask.skill.0a1b2c3d-0000-4000-8000-00000000abcd")
    assert not pattern.match("amzn1.ask.skill.")
    assert not pattern.match("arn:aws:lambda:us-east-1:000000000000:function:x")


def test_endpoint_output_is_the_alias(cfn: Template, sam: Template) -> None:
    alias_name, alias = only(cfn, "AWS::Lambda::Alias")
    assert (
        alias["Properties"]["Name"] == sam["Resources"][FUNCTION]["Properties"]["AutoPublishAlias"]
    )
    assert cfn["Outputs"]["SkillEndpointArn"]["Value"] == {"Ref": alias_name}


# --- permissions ------------------------------------------------------------------------------


def function_role(cfn: Template) -> Template:
    _, function = only(cfn, "AWS::Lambda::Function")
    role_ref = function["Properties"]["Role"]
    role_name = role_ref["Fn::GetAtt"][0]
    role: Template = cfn["Resources"][role_name]
    assert role["Type"] == "AWS::IAM::Role"
    return role


def role_statements(role: Template) -> list[Template]:
    return [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def test_role_trusts_lambda_only(cfn: Template) -> None:
    trust = function_role(cfn)["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]


def test_role_has_no_managed_policies(cfn: Template) -> None:
    # AWSLambdaBasicExecutionRole would allow creating and writing any log group.
    assert not function_role(cfn)["Properties"].get("ManagedPolicyArns")


def test_table_access_is_the_used_actions_on_the_table_only(cfn: Template) -> None:
    statements = role_statements(function_role(cfn))
    assert all(s["Effect"] == "Allow" for s in statements)
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))]
    assert len(dynamo) == 1
    assert set(as_list(dynamo[0]["Action"])) == TABLE_ACTIONS
    assert as_list(dynamo[0]["Resource"]) == [{"Fn::GetAtt": [TABLE, "Arn"]}]


def test_the_store_calls_exactly_the_allowed_actions() -> None:
    """Every `self._call("<Action>", "<method>"` in the DynamoDB store is an allowed action
    (and its boto3 method), and every allowed action is called: code and policy stay in step."""
    memory = REPO / "lambda" / "cramp_coach" / "memory"
    source = "".join((memory / name).read_text() for name in ("dynamodb.py", "dynamodb_table.py"))
    assert "self.client." not in source  # every call goes through _call (the deadline)
    calls = set(re.findall(r'_call\(\s*"([A-Za-z]+)",\s*"([a-z_]+)"', source))
    for action, method in calls:
        assert action == "".join(part.title() for part in method.split("_"))
    assert {"dynamodb:" + action for action, _ in calls} == TABLE_ACTIONS


SELF_ALIAS = {
    "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}"
    ":function:${AWS::StackName}-skill:live"
}


def test_every_statement_names_a_resource_of_this_stack(cfn: Template) -> None:
    for statement in role_statements(function_role(cfn)):
        for action in as_list(statement["Action"]):
            assert "*" not in action, statement
        for resource in as_list(statement["Resource"]):
            assert resource in (
                {"Fn::GetAtt": [TABLE, "Arn"]},
                {"Fn::GetAtt": [LOG_GROUP, "Arn"]},
                SELF_ALIAS,
            )


def test_the_function_may_invoke_only_its_own_alias(cfn: Template) -> None:
    """Deferred writes: an asynchronous invocation of the function's own `live` alias, and no
    other function (persistence/deferred.py)."""
    _, function = only(cfn, "AWS::Lambda::Function")
    assert function["Properties"]["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-skill"}
    invoke = [
        s
        for s in role_statements(function_role(cfn))
        if any(a.startswith("lambda:") for a in as_list(s["Action"]))
    ]
    assert len(invoke) == 1
    assert as_list(invoke[0]["Action"]) == ["lambda:InvokeFunction"]
    assert as_list(invoke[0]["Resource"]) == [SELF_ALIAS]


def test_deferred_writes_are_retried_by_lambda_on_the_alias(cfn: Template) -> None:
    """A deferred write that fails (the table still down) is retried twice, and an event is
    kept no longer than the handler accepts (deferred.MAX_EVENT_AGE_S)."""
    from cramp_coach.memory.deferred import MAX_EVENT_AGE_S

    _, config = only(cfn, "AWS::Lambda::EventInvokeConfig")
    _, alias = only(cfn, "AWS::Lambda::Alias")
    props = config["Properties"]
    assert props["MaximumRetryAttempts"] == 2
    assert props["MaximumEventAgeInSeconds"] == MAX_EVENT_AGE_S
    assert props["Qualifier"] == alias["Properties"]["Name"] == "live"


def test_logs_go_to_the_own_log_group_only(cfn: Template) -> None:
    logs = [
        s
        for s in role_statements(function_role(cfn))
        if any(a.startswith("logs:") for a in as_list(s["Action"]))
    ]
    assert len(logs) == 1
    assert set(as_list(logs[0]["Action"])) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert as_list(logs[0]["Resource"]) == [{"Fn::GetAtt": [LOG_GROUP, "Arn"]}]


# --- table ------------------------------------------------------------------------------------


def test_table_contract(cfn: Template) -> None:
    name, table = only(cfn, "AWS::DynamoDB::Table")
    assert name == TABLE
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in props
    keys = {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]}
    assert keys == {"pk": "HASH", "sk": "RANGE"}
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert types == {"pk": "S", "sk": "S"}
    assert not props.get("GlobalSecondaryIndexes")
    assert not props.get("LocalSecondaryIndexes")


def test_table_is_encrypted_recoverable_and_expiring(cfn: Template) -> None:
    props = cfn["Resources"][TABLE]["Properties"]
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_stateful_resources_have_explicit_policies(sam: Template) -> None:
    for name in (TABLE, LOG_GROUP):
        resource = sam["Resources"][name]
        assert resource.get("DeletionPolicy") in {"Delete", "Retain", "Snapshot"}, name
        assert resource.get("UpdateReplacePolicy") in {"Delete", "Retain", "Snapshot"}, name


# --- function ---------------------------------------------------------------------------------


def test_function_runtime_and_limits(cfn: Template) -> None:
    _, function = only(cfn, "AWS::Lambda::Function")
    props = function["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["x86_64"]
    assert props["Handler"] == "cramp_coach.hosting.lambda_entry.handler"
    assert props["MemorySize"] == 512
    # Alexa waits 8 s for an answer.
    assert isinstance(props["Timeout"], int) and props["Timeout"] < 8


def test_function_environment(cfn: Template) -> None:
    _, function = only(cfn, "AWS::Lambda::Function")
    env = function["Properties"]["Environment"]["Variables"]
    assert env == {
        "CRAMP_STORE": "dynamodb",
        "CRAMP_TABLE": {"Ref": TABLE},
        "SKILL_ID": {"Ref": "SkillId"},
        "CRAMP_USER_SALT": {
            "Fn::Sub": "{{resolve:secretsmanager:${UserIdSaltSecret}:SecretString}}"
        },
    }


def test_salt_is_a_generated_per_stack_secret(sam: Template) -> None:
    """The deployer pastes nothing, and there is no parameter whose default could be empty."""
    assert "UserIdSalt" not in sam["Parameters"]
    secret = sam["Resources"]["UserIdSaltSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    generate = secret["Properties"]["GenerateSecretString"]
    assert generate["PasswordLength"] >= 32
    assert "SecretStringTemplate" not in generate  # the whole SecretString is the salt
    assert "RotationSchedule" not in str(sam["Resources"])  # a new salt orphans every profile


def test_logs_are_json_with_an_application_level(cfn: Template, sam: Template) -> None:
    _, function = only(cfn, "AWS::Lambda::Function")
    config = function["Properties"]["LoggingConfig"]
    assert config["LogFormat"] == "JSON"
    assert config["ApplicationLogLevel"] == {"Ref": "LogLevel"}
    assert sam["Parameters"]["LogLevel"]["Default"] == "INFO"
    assert set(sam["Parameters"]["LogLevel"]["AllowedValues"]) <= {
        "TRACE",
        "DEBUG",
        "INFO",
        "WARN",
        "ERROR",
        "FATAL",
    }


def test_function_logs_to_a_log_group_with_retention(cfn: Template, sam: Template) -> None:
    _, function = only(cfn, "AWS::Lambda::Function")
    assert function["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": LOG_GROUP}
    group = sam["Resources"][LOG_GROUP]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert sam["Parameters"]["LogRetentionInDays"]["Default"] == 14
    # /aws/lambda/<function name>: where `sam logs` and the Lambda console look.
    function_name = sam["Resources"][FUNCTION]["Properties"]["FunctionName"]["Fn::Sub"]
    assert group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{function_name}"}


def test_snapstart_is_off_by_default_as_a_one_line_switch(cfn: Template) -> None:
    _, function = only(cfn, "AWS::Lambda::Function")
    runtime = function["Properties"]["Runtime"]
    major, minor = (int(part) for part in runtime.removeprefix("python").split("."))
    assert (major, minor) >= (3, 12), "SnapStart for Python needs python3.12 or later"
    # A literal: SAM hashes it into the version id, so switching it publishes a new version.
    assert function["Properties"]["SnapStart"] == {"ApplyOn": "None"}
    assert "ApplyOn: PublishedVersions" in TEMPLATE.read_text(encoding="utf-8")  # the switch
    only(cfn, "AWS::Lambda::Version")


# --- build inputs -----------------------------------------------------------------------------


def _locked(path: Path) -> dict[str, str]:
    """A lock file's pins; fails unless every package is pinned to one version with hashes."""
    text = path.read_text()
    assert "make lock" in text, f"{path.name}: generated by `make lock`, not by hand"
    hashes = r"((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)"
    blocks = re.findall(r"^([a-z0-9.\-]+)==(\S+)(?: ; [^\n]*)? \\\n" + hashes, text, re.M)
    pinned_lines = [line for line in text.splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    assert len(pinned_lines) == len(blocks), f"{path.name}: a package without pin or hashes"
    return {name: version for name, version, _ in blocks}


def _satisfied(requirements: list[str], pins: dict[str, str], where: str) -> None:
    for line in requirements:
        req = Requirement(line)
        if req.name == "cramp-coach":
            continue
        assert req.name.lower() in pins, f"{where}: {req.name} is not in the lock"
        assert req.specifier.contains(pins[req.name.lower()], prereleases=True), (
            f"{where}: the lock's {req.name}=={pins[req.name.lower()]} breaks {req}"
        )


def _requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def test_every_lock_pins_with_hashes_what_its_source_asks_for() -> None:
    """The function's, the dev tools' and the SAM CLI's locks, each in step with its one source."""
    function = _locked(REPO / "lambda" / "requirements.txt")
    assert {"ask-sdk-core", "python-dateutil", "urllib3", "requests"} <= function.keys()
    _satisfied(_requirement_lines(REPO / "lambda" / "requirements.in"), function, "lambda")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    # The package's runtime needs are the function's, read from the same file.
    assert pyproject["project"]["dynamic"] == ["dependencies"]
    dynamic = pyproject["tool"]["setuptools"]["dynamic"]["dependencies"]
    assert dynamic == {"file": ["lambda/requirements.in"]}

    dev = _locked(REPO / "requirements" / "dev.txt")
    extras = pyproject["project"]["optional-dependencies"]
    every_extra = [line for extra in extras.values() for line in extra]
    _satisfied(every_extra + _requirement_lines(REPO / "lambda" / "requirements.in"), dev, "dev")
    assert {"ruff", "mypy", "pytest", "moto", "hypothesis", "cfn-lint", "setuptools"} <= dev.keys()

    sam = _locked(REPO / "requirements" / "sam.txt")
    _satisfied(_requirement_lines(REPO / "requirements" / "sam.in"), sam, "sam")
    makefile = (REPO / "Makefile").read_text()
    assert "--require-hashes -r requirements/dev.txt" in makefile
    assert (
        "--require-hashes -r requirements/sam.txt"
        in (REPO / "tools" / "sam_build_check.sh").read_text()
    )


def test_function_is_built_by_the_makefile_hook(sam: Template) -> None:
    function = sam["Resources"][FUNCTION]
    assert function["Metadata"] == {"BuildMethod": "makefile"}
    makefile = (REPO / "lambda" / "Makefile").read_text()
    assert f"build-{FUNCTION}:" in makefile
    for needed in (
        "--require-hashes",
        "--platform manylinux2014_x86_64",
        "--only-binary=:all:",
        "compileall",
        "--invalidation-mode unchecked-hash",
    ):
        assert needed in makefile.replace("$(PLATFORM)", "manylinux2014_x86_64")


def test_handler_exists_in_code_uri(sam: Template) -> None:
    props = sam["Resources"][FUNCTION]["Properties"]
    module, _, attribute = props["Handler"].rpartition(".")
    source = REPO / props["CodeUri"] / (module.replace(".", "/") + ".py")
    assert source.is_file(), f"handler module {source} is missing"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    names = {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    } | {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert attribute in names


def test_samconfig_defaults() -> None:
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    assert config["version"] == 0.1
    default = config["default"]
    assert default["global"]["parameters"]["stack_name"] == "cramp-coach"
    deploy = default["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is True
    assert default["validate"]["parameters"]["lint"] is True


def test_local_table_definition_matches_the_deployed_table(cfn: Template) -> None:
    from cramp_coach.memory.dynamodb_calls import table_definition

    _, table = only(cfn, "AWS::DynamoDB::Table")
    local = table_definition("any")
    assert table["Properties"]["KeySchema"] == local["KeySchema"]
    assert table["Properties"]["AttributeDefinitions"] == local["AttributeDefinitions"]
    assert table["Properties"]["BillingMode"] == local["BillingMode"]
