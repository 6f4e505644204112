"""The deployment and API documents, checked without a Docker engine.

compose.yaml, docker/Dockerfile, the Prometheus and Grafana files, schemas/openapi.json and
docs/asyncapi.yaml must parse, refer only to files and services that exist, use only documented
metric names, and stay in step with the code they describe (routes, topics, Kafka headers).

PyYAML reads the YAML files; openapi-spec-validator validates the OpenAPI document fully, and the
structural checks below say what the contract needs of it.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import openapi_spec_validator
import pytest
import yaml
from packaging.specifiers import SpecifierSet  # pytest's own dependency

ROOT = Path(__file__).resolve().parents[2]

COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
PROMETHEUS = ROOT / "docker" / "prometheus" / "prometheus.yml"
ALERTS = ROOT / "docker" / "prometheus" / "alerts.yml"
GRAFANA_DATASOURCE = ROOT / "docker" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
GRAFANA_PROVIDER = ROOT / "docker" / "grafana" / "provisioning" / "dashboards" / "paypipe.yml"
DASHBOARD = ROOT / "docker" / "grafana" / "dashboards" / "paypipe.json"
OPENAPI = ROOT / "schemas" / "openapi.json"
ASYNCAPI = ROOT / "docs" / "asyncapi.yaml"
NORMALIZED_SCHEMA = ROOT / "schemas" / "normalized_event.v1.json"
YAML_FILES = [COMPOSE, PROMETHEUS, ALERTS, GRAFANA_DATASOURCE, GRAFANA_PROVIDER, ASYNCAPI]

# The metrics the services document, by type. The lead will replace this list with the live
# registries; until then a renamed metric must be renamed here, in the dashboard and in alerts.
DOCUMENTED_METRICS: dict[str, str] = {
    "paypipe_ingress_requests_total": "counter",
    "paypipe_ingress_request_seconds": "histogram",
    "paypipe_ingress_body_bytes": "histogram",
    "paypipe_ingress_producer_in_flight": "gauge",
    "paypipe_ingress_kafka_send_seconds": "histogram",
    "paypipe_processor_events_total": "counter",
    "paypipe_processor_verify_seconds": "histogram",
    "paypipe_processor_duplicates_total": "counter",
    "paypipe_processor_retries_total": "counter",
    "paypipe_processor_dead_letters_total": "counter",
    "paypipe_processor_rejected_total": "counter",
    "paypipe_processor_consumer_lag": "gauge",
    "paypipe_sink_rows_written_total": "counter",
    "paypipe_sink_batch_size": "histogram",
    "paypipe_sink_batch_seconds": "histogram",
    "paypipe_sink_db_errors_total": "counter",
    "paypipe_end_to_end_seconds": "histogram",
    "paypipe_reconciliation_differences": "gauge",
}

# The contract's HTTP table (plus 429, and Adyen's 200 "[accepted]").
CONTRACT_ROUTES = {
    ("post", "/webhooks/{endpoint}"): {
        "200",
        "202",
        "400",
        "401",
        "404",
        "408",
        "413",
        "429",
        "503",
    },
    ("get", "/healthz"): {"200"},
    ("get", "/readyz"): {"200", "503"},
    ("get", "/metrics"): {"200"},
    ("get", "/openapi.json"): {"200"},
}

PAYPIPE_SERVICES = {
    "topics": ["topics", "create"],
    "migrate": ["migrate"],
    "ingress": ["ingress"],
    "processor": ["processor"],
    "sink": ["sink"],
}
ONE_SHOT = {"topics", "migrate"}
EXPECTED_SERVICES = {"kafka", "postgres", *PAYPIPE_SERVICES, "prometheus", "grafana"}

# Variables the paypipe containers may set: the contract's, plus the image's own knobs.
KNOWN_ENV = {
    "KAFKA_BOOTSTRAP_SERVERS",
    "DATABASE_URL",
    "INGRESS_HOST",
    "INGRESS_PORT",
    "PAYPIPE_CONFIG",
    "PAYPIPE_ENV",
    "PAYPIPE_TOPIC_PREFIX",
    "LOG_LEVEL",
    "PROCESSOR_METRICS_PORT",
    "SINK_METRICS_PORT",
    "METRICS_HOST",
    "PAYPIPE_HEALTHCHECK_URL",
    "PAYPIPE_PROCESSOR_DATA",
}


# --- loading ------------------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def compose() -> Any:
    return load_yaml(COMPOSE)


@cache
def openapi() -> Any:
    return json.loads(OPENAPI.read_text(encoding="utf-8"))


@cache
def asyncapi() -> Any:
    return load_yaml(ASYNCAPI)


@cache
def dashboard() -> Any:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def services() -> Any:
    return compose()["services"]


def environment(service: str) -> dict[str, str]:
    env = services()[service].get("environment", {})
    if isinstance(env, list):  # the `- NAME=value` form
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def bind_mounts(service: str) -> dict[str, str]:
    """Container path → repository path of each bind mount (short `src:dst[:mode]` syntax)."""
    mounts = {}
    for volume in services()[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts[target] = source
    return mounts


def host_file(service: str, container_path: str) -> Path:
    """The repository file a container path is bind-mounted from, or fail."""
    path = PurePosixPath(container_path)
    for target, source in bind_mounts(service).items():
        if path == PurePosixPath(target) or PurePosixPath(target) in path.parents:
            return (ROOT / source / path.relative_to(target)).resolve()
    pytest.fail(f"{service}: {container_path} is not bind-mounted from the repository")


def module_constants(path: Path) -> dict[str, Any]:
    """The module's top-level literal assignments, read without importing it."""
    constants: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name):
            try:
                constants[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    return constants


def walk(node: Any) -> Iterator[Any]:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from walk(child)


def local_refs(document: Any) -> list[str]:
    return [
        n["$ref"]
        for n in walk(document)
        if isinstance(n, dict) and isinstance(n.get("$ref"), str) and n["$ref"].startswith("#")
    ]


def resolve(document: Any, ref: str) -> Any:
    node = document
    for part in ref.removeprefix("#/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


# --- compose.yaml -------------------------------------------------------------------------------


def test_compose_runs_the_whole_stack() -> None:
    assert set(services()) == EXPECTED_SERVICES


def test_depends_on_names_existing_services_with_fitting_conditions() -> None:
    image_healthcheck = any(i == "HEALTHCHECK" for i, _ in final_stage())
    for name, service in services().items():
        for dependency, spec in service.get("depends_on", {}).items():
            assert dependency in services(), f"{name} depends on unknown service {dependency}"
            condition = spec["condition"]
            target = services()[dependency]
            if condition == "service_healthy":
                own = target.get("healthcheck", {})
                assert not own.get("disable"), (
                    f"{name} waits for {dependency}'s disabled healthcheck"
                )
                assert own.get("test") or ("build" in target and image_healthcheck), (
                    f"{name} waits for {dependency} to be healthy, but it has no healthcheck"
                )
            elif condition == "service_completed_successfully":
                assert dependency in ONE_SHOT, f"{dependency} never completes"
                assert target.get("restart") == "no"
            else:
                assert condition == "service_started", f"{name}: unknown condition {condition}"


def test_depends_on_has_no_cycle() -> None:
    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"depends_on cycle: {' -> '.join((*path, name))}"
        for dependency in services()[name].get("depends_on", {}):
            visit(dependency, (*path, name))

    for name in services():
        visit(name, ())


def test_workers_start_after_their_one_shot_steps() -> None:
    deps = {name: services()[name].get("depends_on", {}) for name in services()}
    for worker in ("ingress", "processor", "sink"):
        assert deps[worker]["topics"]["condition"] == "service_completed_successfully"
        assert deps[worker]["kafka"]["condition"] == "service_healthy"
    assert deps["sink"]["migrate"]["condition"] == "service_completed_successfully"
    assert deps["sink"]["postgres"]["condition"] == "service_healthy"
    assert deps["migrate"]["postgres"]["condition"] == "service_healthy"
    assert deps["grafana"]["prometheus"]["condition"] == "service_healthy"


def test_local_files_and_volumes_exist() -> None:
    declared = set(compose().get("volumes") or {})
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"
        build = service.get("build")
        if build is not None:
            assert (ROOT / build["context"]).resolve() == ROOT
            assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    assert DOCKERFILE.is_file()


def test_kafka_is_the_launcher_version_in_kraft_mode() -> None:
    pom = (ROOT / "scripts" / "kafka" / "pom.xml").read_text(encoding="utf-8")
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    assert match, "scripts/kafka/pom.xml has no <kafka.version>"
    kafka = services()["kafka"]
    assert kafka["image"] == f"apache/kafka:{match.group(1)}"
    env = environment("kafka")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert kafka["healthcheck"]["test"]


def test_postgres_serves_the_database_the_services_use() -> None:
    postgres = services()["postgres"]
    assert postgres["image"] == "postgres:15"
    url = urlsplit(environment("sink")["DATABASE_URL"])
    assert url.hostname == "postgres" and url.port == 5432
    assert environment("postgres")["POSTGRES_DB"] == url.path.lstrip("/") == "paypipe"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


@pytest.mark.parametrize("name", sorted(PAYPIPE_SERVICES))
def test_paypipe_services_run_the_cli_from_one_image(name: str) -> None:
    service = services()[name]
    assert service["command"] == PAYPIPE_SERVICES[name]
    assert service["build"]["dockerfile"] == "docker/Dockerfile"
    env = environment(name)
    assert set(env) <= KNOWN_ENV, f"{name}: undocumented variables {set(env) - KNOWN_ENV}"
    assert env["INGRESS_HOST"] == env["METRICS_HOST"] == "0.0.0.0"  # noqa: S104 - in a container, yes
    for address in env["KAFKA_BOOTSTRAP_SERVERS"].split(","):
        host, port = address.rsplit(":", 1)
        assert host == "kafka"
        listeners = environment("kafka")["KAFKA_ADVERTISED_LISTENERS"]
        assert f"//kafka:{port}" in listeners
    assert urlsplit(env["DATABASE_URL"]).hostname == "postgres"
    assert env["PAYPIPE_CONFIG"] in copied_files(), "PAYPIPE_CONFIG is not a file the image holds"


def test_ports_and_healthchecks_of_the_workers_agree() -> None:
    assert "127.0.0.1:8080:8080" in services()["ingress"]["ports"]
    for worker, port_var in (
        ("processor", "PROCESSOR_METRICS_PORT"),
        ("sink", "SINK_METRICS_PORT"),
    ):
        env = environment(worker)
        url = urlsplit(env["PAYPIPE_HEALTHCHECK_URL"])
        assert url.port == int(env[port_var]) and url.path == "/metrics"
    for one_shot in ONE_SHOT:
        assert services()[one_shot]["healthcheck"]["disable"] is True


def test_grafana_home_dashboard_is_mounted() -> None:
    path = environment("grafana")["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert host_file("grafana", path) == DASHBOARD


# --- docker/Dockerfile --------------------------------------------------------------------------


@cache
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # a comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in dockerfile():
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def final_stage() -> list[tuple[str, str]]:
    return stages()[-1]


def base_image(from_arguments: str) -> str:
    global_args = {}
    for keyword, arguments in dockerfile():
        if keyword == "FROM":
            break
        if keyword == "ARG" and "=" in arguments:
            name, value = arguments.split("=", 1)
            global_args[name] = value
    image = from_arguments.split()[0]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: global_args[m.group(1) or m.group(2)], image)


def copy_arguments(arguments: str) -> tuple[dict[str, str], list[str]]:
    flags, words = {}, arguments.split()
    while words and words[0].startswith("--"):
        name, _, value = words.pop(0)[2:].partition("=")
        flags[name] = value
    if words and words[0].startswith("["):
        words = json.loads(" ".join(words))
    return flags, words


@cache
def copied_files() -> frozenset[str]:
    """Absolute container paths of single files copied from the build context into the image."""
    workdir, files = "/", set()
    for keyword, arguments in final_stage():
        if keyword == "WORKDIR":
            workdir = str(PurePosixPath(workdir) / arguments)
        if keyword == "COPY":
            flags, (*sources, destination) = copy_arguments(arguments)
            if "from" not in flags and len(sources) == 1 and not destination.endswith("/"):
                files.add(str(PurePosixPath(workdir) / destination))
    return frozenset(files)


def test_dockerfile_builds_in_one_stage_and_runs_slim_in_another() -> None:
    assert len(stages()) >= 2
    builder, runtime = stages()[0], final_stage()
    # Dependencies only from the hashed lock file, then the project itself without resolving.
    assert any(
        k == "RUN" and "--require-hashes -r requirements/runtime.lock" in a for k, a in builder
    )
    assert any(k == "RUN" and "pip install --no-deps ." in a for k, a in builder)
    assert base_image(runtime[0][1]) == "python:3.11-slim"
    assert any(k == "COPY" and copy_arguments(a)[0].get("from") for k, a in runtime)
    assert not any(k == "RUN" and "pip install" in a for k, a in runtime)


def test_dockerfile_python_satisfies_the_project() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    version = re.search(r"python:(\d+\.\d+)", base_image(final_stage()[0][1]))
    assert version
    assert SpecifierSet(project["requires-python"]).contains(version.group(1))


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = [a for k, a in final_stage() if k == "USER"]
    assert users, "the runtime stage never leaves root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_dockerfile_entrypoint_and_generic_healthcheck() -> None:
    runtime = final_stage()
    entrypoints = [a for k, a in runtime if k == "ENTRYPOINT"]
    assert entrypoints and json.loads(entrypoints[-1]) == ["paypipe"]
    healthchecks = [a for k, a in runtime if k == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "PAYPIPE_HEALTHCHECK_URL" in healthchecks[0]
    env = " ".join(a for k, a in runtime if k == "ENV")
    assert "PAYPIPE_HEALTHCHECK_URL=http://127.0.0.1:8080/healthz" in env
    assert "INGRESS_HOST=0.0.0.0" in env and "METRICS_HOST=0.0.0.0" in env


def test_dockerfile_copies_only_files_that_exist() -> None:
    for keyword, arguments in dockerfile():
        if keyword in {"COPY", "ADD"}:
            flags, (*sources, _) = copy_arguments(arguments)
            if "from" in flags:
                continue
            for source in sources:
                assert (ROOT / source).exists(), f"the Dockerfile copies missing {source}"


# --- Prometheus ---------------------------------------------------------------------------------


def test_prometheus_loads_mounted_rules_and_scrapes_compose_services() -> None:
    config = load_yaml(PROMETHEUS)
    for rule_file in config["rule_files"]:
        assert host_file("prometheus", rule_file) == ALERTS
    assert host_file("prometheus", "/etc/prometheus/prometheus.yml") == PROMETHEUS
    expected_ports = {
        "ingress": environment("ingress")["INGRESS_PORT"],
        "processor": environment("processor")["PROCESSOR_METRICS_PORT"],
        "sink": environment("sink")["SINK_METRICS_PORT"],
    }
    scraped = set()
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                if host == "localhost":
                    continue
                assert host in services(), f"{job['job_name']} scrapes unknown host {host}"
                assert port == expected_ports[host]
                scraped.add(host)
    assert scraped == set(expected_ports)


def alert_rules() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]}


def test_alert_rules_cover_what_operators_must_know() -> None:
    rules = alert_rules()
    for rule in rules.values():
        assert rule["expr"].strip()
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
    exprs = {name: rule["expr"] for name, rule in rules.items()}

    def covered(metric: str, also: str = "") -> bool:
        return any(metric in e and also in e for e in exprs.values())

    assert covered("paypipe_processor_dead_letters_total"), "no alert on a growing DLQ"
    assert covered("paypipe_processor_consumer_lag", "deriv("), "no alert on rising lag"
    assert covered("paypipe_ingress_requests_total", '"5.."'), "no alert on ingress 5xx"
    assert covered("paypipe_reconciliation_differences", "> 0"), "no alert on reconciliation"
    assert covered("paypipe_end_to_end_seconds_bucket", "0.99"), "no alert on end-to-end p99"


# --- metric names -------------------------------------------------------------------------------

METRIC = re.compile(r"\bpaypipe_[a-z0-9_]+\b")


def metric_names(expr: str) -> set[str]:
    """The documented metric each `paypipe_*` name in a PromQL expression refers to."""
    names = set()
    for name in METRIC.findall(expr):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if base != name and DOCUMENTED_METRICS.get(base) == "histogram":
            name = base
        names.add(name)
    return names


def dashboard_exprs() -> list[str]:
    exprs = [
        t["expr"]
        for n in walk(dashboard()["panels"])
        if isinstance(n, dict)
        for t in n.get("targets", [])
        if "expr" in t
    ]
    for variable in dashboard()["templating"]["list"]:
        query = variable.get("query")
        exprs.append(query["query"] if isinstance(query, dict) else str(query or ""))
    return exprs


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_only_documented_metrics_are_queried(source: str) -> None:
    exprs = (
        dashboard_exprs() if source == "dashboard" else [r["expr"] for r in alert_rules().values()]
    )
    used = set().union(*(metric_names(e) for e in exprs))
    assert used, f"no paypipe metric in the {source}"
    assert used <= set(DOCUMENTED_METRICS), (
        f"undocumented metrics: {used - set(DOCUMENTED_METRICS)}"
    )


def test_dashboard_shows_every_documented_metric() -> None:
    used = set().union(*(metric_names(e) for e in dashboard_exprs()))
    assert set(DOCUMENTED_METRICS) - used == set()


def test_histograms_are_read_through_buckets_and_counters_through_rates() -> None:
    for expr in dashboard_exprs() + [r["expr"] for r in alert_rules().values()]:
        for name in METRIC.findall(expr):
            kind = DOCUMENTED_METRICS.get(re.sub(r"_(bucket|sum|count)$", "", name))
            if kind == "histogram":
                assert re.search(r"_(bucket|sum|count)$", name), f"bare histogram in {expr}"
            if DOCUMENTED_METRICS.get(name) == "counter" and "label_values" not in expr:
                assert re.search(rf"(rate|increase)\({name}\b", expr), f"raw counter in {expr}"


# --- Grafana ------------------------------------------------------------------------------------


def test_grafana_provisioning_points_at_the_compose_prometheus_and_dashboards() -> None:
    assert host_file("grafana", "/etc/grafana/provisioning/datasources/prometheus.yml") == (
        GRAFANA_DATASOURCE.resolve()
    )
    assert host_file("grafana", "/etc/grafana/provisioning/dashboards/paypipe.yml") == (
        GRAFANA_PROVIDER.resolve()
    )
    datasources = load_yaml(GRAFANA_DATASOURCE)["datasources"]
    (prometheus,) = [d for d in datasources if d["type"] == "prometheus"]
    url = urlsplit(prometheus["url"])
    assert (
        url.hostname == "prometheus" and "127.0.0.1:9090:9090" in services()["prometheus"]["ports"]
    )
    (provider,) = load_yaml(GRAFANA_PROVIDER)["providers"]
    folder = host_file("grafana", provider["options"]["path"])
    assert folder == DASHBOARD.parent.resolve() and DASHBOARD.is_file()


def test_dashboard_panels_are_well_formed_and_use_the_provisioned_datasource() -> None:
    uid = next(d["uid"] for d in load_yaml(GRAFANA_DATASOURCE)["datasources"])
    board = dashboard()
    assert board["uid"] and board["title"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in board["templating"]["list"]}
    for node in walk(board):
        if isinstance(node, dict) and isinstance(node.get("datasource"), dict):
            assert node["datasource"]["uid"] == uid
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["targets"], f"panel {panel['title']} queries nothing"
        for target in panel["targets"]:
            for variable in re.findall(r"\$(\w+)", target["expr"]):
                assert variable.startswith("__") or variable in variables


def test_dashboard_has_the_panels_the_issue_asks_for() -> None:
    titles = " | ".join(p["title"].lower() for p in dashboard()["panels"])
    for words in (
        "throughput by status",
        "request latency",
        "stage and outcome",
        "duplicates",
        "retries per tier",
        "dlq and rejected",
        "consumer lag",
        "rows written",
        "batch latency",
        "end-to-end latency",
        "database errors",
    ):
        assert words in titles, f"no panel about {words}"
    latency = next(p for p in dashboard()["panels"] if p["title"] == "Ingress request latency")
    assert {"p50", "p95", "p99"} <= {t["legendFormat"] for t in latency["targets"]}


# --- OpenAPI ------------------------------------------------------------------------------------


def test_openapi_is_3_1_with_the_contract_routes_and_answers() -> None:
    doc = openapi()
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]
    documented = {
        (method, path)
        for path, item in doc["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented == set(CONTRACT_ROUTES)
    for (method, path), codes in CONTRACT_ROUTES.items():
        assert set(doc["paths"][path][method]["responses"]) == codes, f"{method} {path}"
    for ref in local_refs(doc):
        resolve(doc, ref)


def test_openapi_webhook_answers_have_the_documented_bodies() -> None:
    doc = openapi()
    responses = doc["paths"]["/webhooks/{endpoint}"]["post"]["responses"]

    def schema(code: str, media: str = "application/json") -> Any:
        node = responses[code]["content"][media]["schema"]
        return resolve(doc, node["$ref"]) if "$ref" in node else node

    accepted = schema("202")
    assert set(accepted["required"]) == {"request_id", "status"}
    assert accepted["properties"]["status"]["const"] == "accepted"
    for code in ("400", "401", "404", "413", "429", "503"):
        assert set(schema(code)["required"]) == {"error", "request_id"}
    for code in ("429", "503"):
        assert "Retry-After" in responses[code]["headers"]
    assert schema("200", "text/plain")["const"] == "[accepted]"
    assert "text/plain" in doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    parameters = doc["paths"]["/webhooks/{endpoint}"]["post"]["parameters"]
    assert any(p["in"] == "path" and p["name"] == "endpoint" and p["required"] for p in parameters)


def test_openapi_matches_the_ingress_code() -> None:
    app = (ROOT / "ingress" / "app.py").read_text(encoding="utf-8")
    routes = {
        (m.group(1), m.group(2))
        for m in re.finditer(r'add_(get|post|put|patch|delete)\(\s*"([^"]+)"', app)
    }
    assert routes == set(CONTRACT_ROUTES)
    webhooks = (ROOT / "ingress" / "webhooks.py").read_text(encoding="utf-8")
    answered = set(re.findall(r"_error\(\s*(\d{3})", webhooks))
    responses = openapi()["paths"]["/webhooks/{endpoint}"]["post"]["responses"]
    assert answered <= set(responses), f"undocumented answers {answered - set(responses)}"
    status, text = module_constants(ROOT / "schemas" / "providers" / "adyen.py")[
        "ACCEPTED_RESPONSE"
    ]
    assert responses[str(status)]["content"]["text/plain"]["schema"]["const"] == text


def test_openapi_validates_against_the_specification() -> None:
    openapi_spec_validator.validate(openapi())


# --- AsyncAPI -----------------------------------------------------------------------------------


def contract_topics() -> set[str]:
    constants = module_constants(ROOT / "schemas" / "topics.py")
    prefix = constants["DEFAULT_PREFIX"]
    delays = constants["DEFAULT_RETRY_DELAYS"]
    return {
        f"{prefix}.raw",
        f"{prefix}.normalized",
        f"{prefix}.dlq",
        f"{prefix}.rejected",
        *(f"{prefix}.retry.{d}s" for d in delays),
    }


def test_asyncapi_names_every_topic() -> None:
    doc = asyncapi()
    assert str(doc["asyncapi"]).startswith("3.")
    addresses = {channel["address"] for channel in doc["channels"].values()}
    assert addresses == contract_topics()
    assert "payments.retry.3600s" in addresses


def test_asyncapi_references_resolve_and_operations_fit_their_channels() -> None:
    doc = asyncapi()
    for ref in local_refs(doc):
        resolve(doc, ref)
    for name, operation in doc["operations"].items():
        assert operation["action"] in {"send", "receive"}
        channel_ref = operation["channel"]["$ref"]
        for message in operation.get("messages", []):
            assert message["$ref"].startswith(channel_ref + "/messages/"), name
    operated = {resolve(doc, op["channel"]["$ref"])["address"] for op in doc["operations"].values()}
    assert operated == contract_topics()


def test_asyncapi_normalized_payload_is_the_json_schema_file() -> None:
    doc = asyncapi()
    (channel,) = [c for c in doc["channels"].values() if c["address"].endswith(".normalized")]
    (message,) = [resolve(doc, m["$ref"]) for m in channel["messages"].values()]
    payload = message["payload"]
    target = (ASYNCAPI.parent / payload["schema"]["$ref"]).resolve()
    assert target == NORMALIZED_SCHEMA.resolve()
    schema = json.loads(target.read_text(encoding="utf-8"))
    assert schema["$schema"].rstrip("/").endswith("draft/2020-12/schema")
    assert payload["schemaFormat"] == "application/schema+json;version=draft-2020-12"


def asyncapi_header_names() -> set[str]:
    names = set()
    for node in walk(asyncapi()["components"]["schemas"]):
        if isinstance(node, dict) and isinstance(node.get("properties"), dict):
            names |= {n for n in node["properties"] if n.startswith("paypipe-")}
    return names


def test_asyncapi_headers_match_the_code() -> None:
    constants = module_constants(ROOT / "schemas" / "headers.py")
    in_code = {v for v in constants.values() if isinstance(v, str) and v.startswith("paypipe-")}
    assert asyncapi_header_names() == in_code
    raw = asyncapi()["components"]["schemas"]["RawHeaders"]
    http_prefix = constants["HTTP_PREFIX"]
    assert any(p.startswith(f"^{http_prefix}") for p in raw["patternProperties"])
