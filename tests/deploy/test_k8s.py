"""deploy/k8s: the manifests parse, reference each other correctly and agree with the service."""

from __future__ import annotations

from typing import Any

from deploy_support import (
    REPO,
    field_for_env,
    image_is_pinned,
    load_yaml_all,
    served_paths,
    settings_env_names,
    settings_from_env,
)

Manifests = dict[tuple[str, str], dict[str, Any]]


def api_container(k8s: Manifests) -> dict[str, Any]:
    pod = k8s[("Deployment", "sketchq-api")]["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == "api"]
    return container


def config(k8s: Manifests) -> dict[str, str]:
    return k8s[("ConfigMap", "sketchq-api")]["data"]


def test_kustomization_lists_every_manifest() -> None:
    folder = REPO / "deploy" / "k8s"
    (kust,) = load_yaml_all(folder / "kustomization.yaml")
    assert sorted(kust["resources"]) == sorted(p.name for p in folder.glob("*.yaml") if p.name != "kustomization.yaml")


def test_the_expected_objects_exist(k8s: Manifests) -> None:
    for key in [("Deployment", "sketchq-api"), ("Service", "sketchq-api"), ("HorizontalPodAutoscaler", "sketchq-api"),
                ("ConfigMap", "sketchq-api"), ("PodDisruptionBudget", "sketchq-api"),
                ("Deployment", "sketchq-redis"), ("Service", "sketchq-redis")]:
        assert key in k8s, key


def test_configmap_is_every_setting_and_valid(k8s: Manifests) -> None:
    data = config(k8s)
    unknown = [k for k in data if field_for_env(k) is None]
    assert not unknown, f"variables the service does not read: {unknown}"
    missing = [f for f, names in settings_env_names().items() if not any(n in data for n in names)]
    assert not missing, f"settings missing from deploy/k8s/configmap.yaml: {missing}"
    assert all(isinstance(v, str) for v in data.values()), "ConfigMap values must be strings (quote them)"
    s = settings_from_env(data)
    assert s.host == "0.0.0.0" and s.device == "cuda" and s.cache_backend == "redis"


def test_redis_url_points_at_the_redis_service(k8s: Manifests) -> None:
    s = settings_from_env(config(k8s))
    redis_port = k8s[("Service", "sketchq-redis")]["spec"]["ports"][0]["port"]
    assert s.redis_url == f"redis://sketchq-redis:{redis_port}/0"
    args = k8s[("Deployment", "sketchq-redis")]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--maxmemory-policy") + 1] == "allkeys-lru" and "--maxmemory" in args


def test_deployment_probes_ports_and_gpu(k8s: Manifests) -> None:
    c = api_container(k8s)
    s = settings_from_env(config(k8s))
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": s.port}
    # the settings, then the API key digests from an optional Secret (issue 14: keys and rate limits on here)
    assert c["envFrom"] == [{"configMapRef": {"name": "sketchq-api"}},
                            {"secretRef": {"name": "sketchq-api-keys", "optional": True}}]
    assert s.rate_limit
    assert image_is_pinned(c["image"])
    paths = served_paths()
    probes = {kind: c[kind]["httpGet"] for kind in ("livenessProbe", "readinessProbe", "startupProbe")}
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert probes["readinessProbe"]["path"] == "/readyz"
    for probe in probes.values():
        assert probe["path"] in paths
        assert probe["port"] in ports or probe["port"] == s.port
    assert str(c["resources"]["limits"]["nvidia.com/gpu"]) == "1"
    pod = k8s[("Deployment", "sketchq-api")]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["terminationGracePeriodSeconds"] >= s.shutdown_grace_s + s.request_timeout_s + 1
    annotations = k8s[("Deployment", "sketchq-api")]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(s.port) and annotations["prometheus.io/path"] in paths


def test_selectors_and_references_match(k8s: Manifests) -> None:
    dep = k8s[("Deployment", "sketchq-api")]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
    svc = k8s[("Service", "sketchq-api")]
    assert svc["spec"]["selector"].items() <= labels.items()
    port_names = {p["name"] for p in api_container(k8s)["ports"]}
    assert all(p["targetPort"] in port_names for p in svc["spec"]["ports"])
    pdb = k8s[("PodDisruptionBudget", "sketchq-api")]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = k8s[("HorizontalPodAutoscaler", "sketchq-api")]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "sketchq-api"}
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    assert pdb["spec"]["minAvailable"] < hpa["minReplicas"]  # a node drain can always proceed
    redis = k8s[("Deployment", "sketchq-redis")]
    assert k8s[("Service", "sketchq-redis")]["spec"]["selector"].items() <= \
        redis["spec"]["template"]["metadata"]["labels"].items()
    assert image_is_pinned(redis["spec"]["template"]["spec"]["containers"][0]["image"])
