"""Docker as a district deploys it, checked by structure (the test suite does not run Docker): a two-stage
image without a compiler in the final stage, curricula and policies mounted where the image reads them, and
compose.yaml's PostgreSQL plus two proxy replicas behind one nginx port, each with a health check."""

from __future__ import annotations

import re

import yaml

from supervisor.settings import PROJECT_ROOT

DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text(encoding="utf-8"))
NGINX = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
REPLICAS = ("supervisor-a", "supervisor-b")


def stages() -> list[str]:
    """The Dockerfile's build stages, each from its FROM line to the next."""
    return re.split(r"^(?=FROM )", DOCKERFILE, flags=re.M)[1:]


def image_env(name: str) -> str:
    return re.search(rf"{name}=(\S+)", stages()[-1]).group(1)


def test_the_image_is_built_in_two_stages_and_the_final_one_has_no_compiler():
    build, run = stages()
    assert "gcc" in build and "pip install" in build
    assert "gcc" not in run and "g++" not in run and "apt-get install" not in run and "pip install" not in run
    assert "COPY --from=build /opt/venv /opt/venv" in run
    assert "USER supervisor" in run and "HEALTHCHECK" in run


def test_curricula_and_policies_are_read_from_where_deployments_mount_them():
    assert image_env("SUPERVISOR_CURRICULA_DIR") == "/etc/supervisor/curricula"
    assert image_env("SUPERVISOR_POLICIES_DIR") == "/etc/supervisor/policies"
    for name in REPLICAS:
        volumes = COMPOSE["services"][name]["volumes"]
        assert f"./curricula:{image_env('SUPERVISOR_CURRICULA_DIR')}:ro" in volumes
        assert f"./policies:{image_env('SUPERVISOR_POLICIES_DIR')}:ro" in volumes
        assert any(v.endswith(":/data") for v in volumes)  # cache, signing key, witness


def test_compose_runs_postgresql_and_two_replicas_behind_one_port():
    services = COMPOSE["services"]
    assert set(services) == {"db", *REPLICAS, "proxy"}
    assert services["db"]["image"].startswith("postgres:")
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    for name in REPLICAS:
        replica = services[name]
        assert replica["build"] == "."
        assert replica["environment"]["SUPERVISOR_DATABASE_URL"].startswith("postgresql://")
        assert "@db:5432/" in replica["environment"]["SUPERVISOR_DATABASE_URL"]
        assert replica["depends_on"]["db"]["condition"] == "service_healthy"
        assert "ports" not in replica  # reached only through the proxy
    published = [name for name, service in services.items() if service.get("ports")]
    assert published == ["proxy"] and len(services["proxy"]["ports"]) == 1
    assert {n: d["condition"] for n, d in services["proxy"]["depends_on"].items()} == \
        dict.fromkeys(REPLICAS, "service_healthy")
    assert set(COMPOSE["volumes"]) == {"pgdata", "data-a", "data-b"}


def test_every_service_has_a_health_check():
    for name, service in COMPOSE["services"].items():
        check = service.get("healthcheck")
        assert check and check["test"][0] in ("CMD", "CMD-SHELL"), name
    for name in REPLICAS:
        assert "/healthz" in " ".join(COMPOSE["services"][name]["healthcheck"]["test"])


def test_nginx_balances_both_replicas_streams_unbuffered_and_keeps_metrics_inside():
    upstream = re.search(r"upstream supervisors \{(.*?)\}", NGINX, re.S).group(1)
    assert [re.search(r"server (\S+)", line).group(1) for line in upstream.splitlines() if "server " in line] == \
        [f"{name}:8000" for name in REPLICAS]
    listen = re.search(r"listen (\d+);", NGINX).group(1)
    assert COMPOSE["services"]["proxy"]["ports"][0].endswith(f":{listen}")
    assert "proxy_buffering off;" in NGINX and "location = /metrics { return 404; }" in NGINX
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in COMPOSE["services"]["proxy"]["volumes"]
