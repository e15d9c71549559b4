"""The Helm values contract holds at install time, and the YAML emitter writes strings as strings.

Issue 21: #10 (strings such as ``1234e56`` read as numbers), #24 (``--set`` overrides skipping synth's
rules), #25 (a fixed ``checksum/config``) and the 5000-digit quantity of #15.  Everything runs the real
helm binary and the real CLI.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
from pathlib import Path

import cdk8s
import jsonschema
import pytest
import yaml

from conftest import ROOT, parse_all, run_cli, run_helm
from tripgen_cdk8s.app.guardrails import portable_pattern_problem
from tripgen_cdk8s.lib import helm as helm_writer
from tripgen_cdk8s.lib.constructs import MicroService, MicroServiceProps
from tripgen_cdk8s.lib.helmchart import HelmChart, HelmChartProps, SynthesizedChart, config_checksum, go_json
from tripgen_cdk8s.lib.model import Image, ResourceAmounts, Resources
from tripgen_cdk8s.lib.quantities import is_bytes, is_cpu

PROD_TRIP = ROOT / "charts" / "prod" / "trip-service"
CATALOG = ROOT / "examples" / "bookstore" / "charts" / "prod" / "catalog"
BOOKSTORE = ROOT / "examples" / "bookstore"
DIGITS_5000 = "9" * 5000


def one_line_exit_2(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr
    return proc.stderr


def helm_run(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm, *args], capture_output=True, text=True, check=False)


# ---------------------------------------------------------------------------- #10: the emitter

# Strings YAML 1.1, YAML 1.2 or Go's YAML (Helm, Argo CD) read as numbers, booleans, nulls or dates.
AMBIGUOUS = ["1234e56", "1e3", "1E3", "1e-3", "+1e3", "0o17", "0x1F", "0b101", "1_000", "0777", "1.5", ".5", "1.",
             ".inf", "-.Inf", "+.INF", ".nan", ".NaN", "inf", "NaN", "yes", "Yes", "YES", "no", "No", "on", "On",
             "off", "OFF", "y", "Y", "n", "N", "true", "False", "null", "Null", "NULL", "~", "", "12:30", "190:20:30",
             "1:20.5", "2024-01-02", "2001-12-14t21:59:43.10-05:00", "2002-12-14", "0", "-1", "+12", "123"]
# What stays plain (the emitter does not quote more than it must: generated files stay readable).
PLAIN = ["v1.2.0", "1.2.0", "500m", "2Gi", "sha256:abc", "e3", "latest", "main", "abc1234", "1.2.3-rc.1"]


@pytest.mark.parametrize("text", AMBIGUOUS)
def test_the_emitter_quotes_every_string_another_yaml_reader_types(text):
    assert helm_writer.reads_as_non_string(text)
    emitted = helm_writer.dump_yaml({"v": text})
    assert emitted != f"v: {text}\n", emitted
    assert yaml.safe_load(emitted) == {"v": text}


@pytest.mark.parametrize("text", PLAIN)
def test_version_like_strings_stay_plain(text):
    assert helm_writer.dump_yaml({"v": text}) == f"v: {text}\n"


def numeric_looking_strings(count: int, seed: int = 21) -> list[str]:
    """Strings built from the characters YAML numbers, booleans and dates are made of."""
    rng = random.Random(seed)
    alphabet = "0123456789eE.+-_:oxXbB"
    words = ["inf", "nan", "yes", "no", "on", "off", "y", "n", "null", "true", "false", "~", "0x", "0o", "0b", ".inf"]
    out = set(AMBIGUOUS) | set(PLAIN)
    while len(out) < count:
        if rng.random() < 0.15:
            word = rng.choice(words)
            out.add("".join(c.upper() if rng.random() < 0.5 else c for c in word))
        else:
            out.add("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 7))))
    return sorted(out)


def test_property_emitted_strings_read_back_as_the_same_strings_in_python():
    for text in numeric_looking_strings(3000):
        assert yaml.safe_load(helm_writer.dump_yaml({"v": text})) == {"v": text}, text


def test_property_helm_reads_every_emitted_string_as_that_string(helm, tmp_path):
    """Go's reading (Helm's fromYaml: the YAML library Helm and Argo CD parse charts with) of a document
    the emitter wrote: every value is the string that was emitted, none a number, bool or null."""
    texts = numeric_looking_strings(3000)
    chart = tmp_path / "probe"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: probe\nversion: 0.1.0\n")
    (chart / "data.yaml").write_text(helm_writer.dump_yaml({f"k{i}": t for i, t in enumerate(texts)}))
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\n"
        'data:\n  json: {{ .Files.Get "data.yaml" | fromYaml | toJson | quote }}\n')
    [cm] = parse_all(run_helm(helm, "template", "probe", str(chart)))
    read = json.loads(cm["data"]["json"])
    wrong = {texts[int(k[1:])]: v for k, v in read.items() if v != texts[int(k[1:])]}
    assert not wrong, f"helm reads these differently: {wrong}"
    assert len(read) == len(texts)


def test_a_release_tagged_1234e56_lints_strict_and_renders_its_version_as_a_string(helm, tmp_path):
    out = tmp_path / "charts"
    proc = run_cli("synth", "--env", "dev", "--out", str(out), "--set", "trip-service.image.tag=1234e56")
    assert proc.returncode == 0, proc.stderr
    chart = out / "dev" / "trip-service"
    assert "appVersion: '1234e56'" in (chart / "Chart.yaml").read_text()
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["appVersion"] == "1234e56"
    assert "0 chart(s) failed" in run_helm(helm, "lint", "--strict", str(chart))
    rendered = parse_all(run_helm(helm, "template", "trip-service", str(chart), "--namespace", "tripgen-dev"))
    deployment = next(o for o in rendered if o["kind"] == "Deployment")
    assert deployment["metadata"]["labels"]["app.kubernetes.io/version"] == "1234e56"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1234e56")


def test_argo_cd_target_revisions_that_look_like_numbers_are_quoted():
    app = {"spec": {"source": {"targetRevision": "1e3", "path": "charts/dev"}}}
    text = helm_writer.dump_yaml(app)
    assert "targetRevision: '1e3'" in text and yaml.safe_load(text) == app


# ---------------------------------------------------------------------------- #24: install-time checks

BAD = [
    ("image.tag=latest", "image.tag", "latest"),
    ("resources.requests.cpu=banana", "resources.requests.cpu", "banana"),
    ("autoscaling.maxReplicas=2", "autoscaling.maxReplicas", "2"),   # minReplicas is 3
    ("autoscaling.minReplicas=2", "podDisruptionBudget.minAvailable", "2"),  # minAvailable is 2: not below
]


@pytest.mark.parametrize("skip", [False, True], ids=["schema", "skip-schema-validation"])
@pytest.mark.parametrize(("assignment", "key", "value"), BAD, ids=[b[0] for b in BAD])
def test_helm_template_refuses_each_override_synth_refuses(helm, assignment, key, value, skip):
    args = ["template", "trip-service", str(PROD_TRIP), "--set", assignment] + (["--skip-schema-validation"] if skip else [])
    proc = helm_run(helm, *args)
    assert proc.returncode != 0, proc.stdout[:500]
    assert f"- {key}:" in proc.stderr or f"{key}: invalid value" in proc.stderr, proc.stderr
    if skip:  # the template's own check: the message synth gives, naming the value
        assert re.search(rf"{re.escape(key)}: invalid value '?{re.escape(value)}'?; ", proc.stderr), proc.stderr


GOOD = [("image.tag=v1.3.0", "Rollout", lambda o: o["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v1.3.0")),
        ("resources.requests.cpu=750m", "Rollout",
         lambda o: o["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "750m"),
        ("autoscaling.maxReplicas=3", "HorizontalPodAutoscaler", lambda o: o["spec"]["maxReplicas"] == 3),
        ("autoscaling.minReplicas=4", "HorizontalPodAutoscaler", lambda o: o["spec"]["minReplicas"] == 4)]


@pytest.mark.parametrize("skip", [False, True], ids=["schema", "skip-schema-validation"])
@pytest.mark.parametrize(("assignment", "kind", "check"), GOOD, ids=[g[0] for g in GOOD])
def test_valid_overrides_of_the_same_keys_still_render(helm, assignment, kind, check, skip):
    args = ["template", "trip-service", str(PROD_TRIP), "--set", assignment] + (["--skip-schema-validation"] if skip else [])
    obj = next(o for o in parse_all(run_helm(helm, *args)) if o["kind"] == kind)
    assert check(obj)


def test_a_digest_lifts_the_tag_rule_at_install_time_as_at_synth(helm):
    digest = "sha256:" + "ab" * 32
    for skip in ([], ["--skip-schema-validation"]):
        out = run_helm(helm, "template", "trip-service", str(PROD_TRIP), "--set", "image.tag=latest",
                       "--set", f"image.digest={digest}", *skip)
        assert f"trip-service@{digest}" in out


def test_the_generic_charts_check_the_cross_field_rules_too(helm):
    """The example's chart (the app layer, no TripGen): same rules, same wording as `tripgen synth --set`."""
    proc = helm_run(helm, "template", "catalog", str(CATALOG), "--set", "autoscaling.maxReplicas=1",
                    "--skip-schema-validation")
    helm_message = "autoscaling.maxReplicas: invalid value 1; allowed: at least min_replicas (2)"
    assert proc.returncode != 0 and helm_message in proc.stderr, proc.stderr
    synth = run_cli("synth", "--check", "--set", "catalog.autoscaling.maxReplicas=1", cwd=BOOKSTORE)
    one_line_exit_2(synth, f"catalog.{helm_message}")


def test_every_template_of_a_checked_chart_runs_the_checks():
    checked = [c for c in [*ROOT.glob("charts/*/*"), *ROOT.glob("examples/*/charts/*/*")]
               if (c / "templates" / "_validate.tpl").is_file()]
    assert PROD_TRIP in checked and CATALOG in checked and len(checked) >= 10
    for chart in checked:
        validate = chart / "templates" / "_validate.tpl"
        prefix = re.search(r'define "([^"]+)\.validate"', validate.read_text())[1]
        for template in (chart / "templates").glob("*.yaml"):
            assert template.read_text().startswith(f'{{{{- include "{prefix}.validate" . -}}}}\n'), template


def test_the_schema_carries_the_quantity_patterns_the_tag_rule_and_the_bounds():
    schema = json.loads((PROD_TRIP / "values.schema.json").read_text())
    values = yaml.safe_load((PROD_TRIP / "values.yaml").read_text())
    jsonschema.validate(values, schema)

    def refused(path: str, value) -> bool:
        changed = json.loads(json.dumps(values))
        node = changed
        *parents, last = path.split(".")
        for p in parents:
            node = node[p]
        node[last] = value
        return not jsonschema.Draft7Validator(schema).is_valid(changed)

    for bad in (DIGITS_5000, "9" * 16, "banana", "0", "0m", "1.2345", "-1"):
        assert refused("resources.requests.cpu", bad), bad
    for bad in (DIGITS_5000 + "Mi", "0Mi", "2G", "1.5Gi"):
        assert refused("resources.limits.memory", bad), bad
    for good in ("9" * 15 + "m", "1.5", "0.25", "250m"):
        assert not refused("resources.requests.cpu", good), good
    assert refused("image.tag", "latest") and not refused("image.tag", "v2.0.0")
    assert refused("autoscaling.maxReplicas", 0) and refused("autoscaling.minReplicas", 0)


@pytest.mark.parametrize(("assignment", "needle"), [
    ("trip-service.autoscaling.maxReplicas=2", "at least min_replicas (3)"),
    ("trip-service.autoscaling.minReplicas=2", "below the minimum replicas (2)"),
    ("trip-service.image.tag=latest", "immutable_image_tags"),
    ("trip-service.resources.requests.cpu=banana", "a CPU quantity"),
])
def test_tripgen_synth_set_refuses_the_same_overrides(assignment, needle):
    one_line_exit_2(run_cli("synth", "--env", "prod", "--check", "--set", assignment), needle)


def test_a_tag_pattern_go_reads_differently_is_refused():
    assert portable_pattern_problem(r"^v?[0-9]+\.[0-9]+\.[0-9]+$") == ""
    assert portable_pattern_problem(r"^(?!latest$).+$")
    assert portable_pattern_problem(r"^(a)\1$")


# ---------------------------------------------------------------------------- #15: 5000-digit quantities


@pytest.mark.parametrize("assignment", [f"trip-service.resources.requests.cpu={DIGITS_5000}m",
                                        f"trip-service.resources.limits.memory={DIGITS_5000}Mi",
                                        f"trip-service.autoscaling.maxReplicas={DIGITS_5000}"])
def test_a_5000_digit_set_is_exit_2_one_line(assignment):
    one_line_exit_2(run_cli("synth", "--env", "prod", "--check", "--set", assignment), "invalid value")


def test_a_5000_digit_set_in_a_generic_app_is_exit_2_one_line():
    one_line_exit_2(run_cli("synth", "--check", "--set", f"catalog.resources.requests.cpu={DIGITS_5000}", cwd=BOOKSTORE),
                    "a CPU quantity")


def test_a_5000_digit_quantity_in_config_is_exit_2_one_line(tmp_path):
    import shutil

    project = tmp_path / "bookstore"
    shutil.copytree(BOOKSTORE / "overlays", project / "overlays")
    config = project / "overlays" / "prod" / "config.py"
    text = config.read_text()
    assert 'Resources.sized("100m"' in text and 'allocatable_cpu="1900m"' in text
    config.write_text(text.replace('Resources.sized("100m"', f'Resources.sized("{DIGITS_5000}m"', 1))
    one_line_exit_2(run_cli("synth", "--out", str(tmp_path / "out"), cwd=project), "a CPU quantity")
    config.write_text(text.replace('allocatable_cpu="1900m"', f'allocatable_cpu="{DIGITS_5000}m"'))
    one_line_exit_2(run_cli("synth", "--out", str(tmp_path / "out"), cwd=project), "node_pool.allocatable_cpu")


def test_quantity_checks_bound_their_digits():
    assert is_cpu("9" * 15 + "m") and not is_cpu("9" * 16 + "m") and not is_cpu(DIGITS_5000)
    assert is_bytes("9" * 15 + "Gi") and not is_bytes("9" * 16 + "Gi") and not is_bytes(DIGITS_5000 + "Mi")


# ---------------------------------------------------------------------------- #25: checksum/config


def chart_with_config(tmp_path: Path, config: dict[str, str]) -> tuple[Path, dict]:
    """A one-service chart written by the Helm writer: its directory and its synthesised objects."""
    chart = HelmChart(cdk8s.Testing.app(), "demo", HelmChartProps(namespace="ns", version="0.1.0"))
    MicroService(chart, "demo", MicroServiceProps(
        name="demo", image=Image("registry.example.io", "demo", "v1.0.0"), config=config,
        resources=Resources(ResourceAmounts("200m", "512Mi"), ResourceAmounts("1", "1Gi", "1Gi"))))
    synthesized = SynthesizedChart.of(chart, "test")
    folder = tmp_path / "demo"
    for rel, text in helm_writer.chart_files(synthesized).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder, {(o["kind"], o["metadata"]["name"]): o for o in synthesized.objects}


def rendered_checksum(helm: str, folder: Path, namespace: str) -> str:
    objs = parse_all(run_helm(helm, "template", "demo", str(folder), "--namespace", namespace))
    deployment = next(o for o in objs if o["kind"] == "Deployment")
    return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]


def test_the_checksum_is_helms_hash_of_the_rendered_config_map_and_follows_the_namespace(helm, tmp_path):
    config = {"QUERY": "a=1&b=<2>", "URL": "http://api.ns.svc.cluster.local:8080/?x=1&y=2", "N": "1e3",
              "TEXT": "line one\nline two\n", "BRACES": "{{ not a template }}", "UNICODE": "caf\u00e9 \u2028"}
    folder, objs = chart_with_config(tmp_path, config)
    python_side = objs[("Deployment", "demo")]["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert python_side == config_checksum(objs[("ConfigMap", "demo-config")])
    assert "sha256sum" in (folder / "templates" / "deployment.yaml").read_text()
    own = rendered_checksum(helm, folder, "ns")
    assert own == python_side  # what synth (and the snapshots) hold is what Helm renders
    other = rendered_checksum(helm, folder, "other")
    assert other != own  # the ConfigMap embeds the namespace: another namespace rolls the pods
    cm = next(o for o in parse_all(run_helm(helm, "template", "demo", str(folder), "--namespace", "other"))
              if o["kind"] == "ConfigMap")
    assert other == config_checksum(cm) and cm["data"]["QUERY"] == "a=1&b=<2>"


def test_go_json_escapes_as_sprig_to_json():
    assert go_json({"b": "x&y<z>", "a": "\u2028"}) == '{"a":"\\u2028","b":"x\\u0026y\\u003cz\\u003e"}'
    assert go_json(None) == "null"


def test_the_committed_charts_checksums_differ_by_namespace(helm):
    def checksum(namespace: str) -> str:
        objs = parse_all(run_helm(helm, "template", "trip-service", str(PROD_TRIP), "--namespace", namespace))
        return next(o for o in objs if o["kind"] == "Rollout")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    assert checksum("tripgen-prod") != checksum("tripgen-canary")


def test_require_digest_holds_at_install_time(helm):
    chart = ROOT / "examples" / "newsletter" / "charts" / "live" / "api"
    for skip in ([], ["--skip-schema-validation"]):
        proc = helm_run(helm, "template", "api", str(chart), "--set", "image.digest=", *skip)
        assert proc.returncode != 0 and "image.digest" in proc.stderr, proc.stderr
    proc = helm_run(helm, "template", "api", str(chart), "--set", "image.digest=", "--skip-schema-validation")
    assert "guardrail require_digest" in proc.stderr, proc.stderr


def test_release_set_with_a_number_like_tag_keeps_it_a_string(helm, project_copy):
    proc = run_cli("release", "set", "trip-service", "--env", "dev", "--tag", "1234e56", cwd=project_copy)
    assert proc.returncode == 0, proc.stderr
    chart = project_copy / "charts" / "dev" / "trip-service"
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["appVersion"] == "1234e56"
    assert "0 chart(s) failed" in run_helm(helm, "lint", "--strict", str(chart))
    assert run_cli("synth", "--check", cwd=project_copy).returncode == 0
