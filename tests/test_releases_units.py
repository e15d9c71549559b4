"""Unit tests of app/releases.py without synthesis: parsing and its limits, the schema's messages,
editing, the commands' planned texts, and the check that an environment runs its releases
(in-process, no jsii, no subprocess; part of the mutation-testing selection)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripgen_cdk8s.app import releases as r
from tripgen_cdk8s.lib.errors import ConfigError

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
TEXT = """\
# releases of prod
services:
  web:
    tag: v1.0.0   # the web tier
  api:
    tag: "v2.0.0"
    digest: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
"""


def project(tmp_path: Path, texts: dict[str, str] | None = None) -> Path:
    for env, text in (texts or {"prod": TEXT, "dev": TEXT.replace("v1.0.0", "v1.1.0")}).items():
        (tmp_path / "overlays" / env).mkdir(parents=True)
        (tmp_path / "overlays" / env / "releases.yaml").write_text(text)
    return tmp_path


def error(fn, *args) -> str:
    with pytest.raises(ConfigError) as err:
        fn(*args)
    return str(err.value)


# ---------------------------------------------------------------------------- reading


def test_parse_and_look_up_releases(tmp_path):
    path = r.releases_path(tmp_path, "prod")
    assert path == tmp_path / "overlays" / "prod" / "releases.yaml"
    rel = r.parse_releases(TEXT, path)
    assert rel.path == path and list(rel.services) == ["web", "api"]
    assert rel.services["web"] == r.Release("v1.0.0") and rel.release("api") == r.Release("v2.0.0", DIGEST)
    assert rel.tag("web") == "v1.0.0" and rel.digest("web") == "" and rel.digest("api") == DIGEST
    assert error(rel.release, "db") == ("overlays/prod/releases.yaml:services: invalid value 'db'; "
                                        "allowed: a service listed in the file (web, api); "
                                        "a new service gets its first release with `tripgen release set db --env prod --tag TAG`")
    assert error(rel.tag, "db").startswith("overlays/prod/releases.yaml:services: invalid value 'db'")
    assert r._display(Path("a/b")) == "a/b" and r._display(Path("/x/y/z/w")) == "y/z/w"
    empty_digest = r.parse_releases("services:\n  web: {tag: v1, digest: ''}\n", path)
    assert empty_digest.services["web"] == r.Release("v1", "")


def test_load_releases_reads_the_file_beside_config_py(tmp_path):
    root = project(tmp_path)
    config = root / "overlays" / "prod" / "config.py"
    assert r.load_releases(config).tag("web") == "v1.0.0"
    assert r.load_releases(str(root / "overlays" / "dev" / "releases.yaml")).tag("web") == "v1.1.0"
    assert error(r.load_releases, root / "overlays" / "qa" / "config.py") == (
        "overlays/qa/releases.yaml: invalid value '(missing)'; allowed: a releases file with a tag per service")


@pytest.mark.parametrize(("text", "message"), [
    ("services: {}\n", "overlays/prod/releases.yaml:services: invalid value '...'; allowed: {} should be non-empty"),
    ("other: 1\n", "overlays/prod/releases.yaml:(top level): invalid value '...'; allowed: "
                   "'services' is a required property"),
    ("services: {web: {tag: v1}}\nother: 1\n", "overlays/prod/releases.yaml:(top level): invalid value '...'; "
                                               "allowed: Additional properties are not allowed ('other' was unexpected)"),
    ("services:\n  web: {tag: 'v 1'}\n", "overlays/prod/releases.yaml:services.web.tag: invalid value 'v 1'; "
                                         "allowed: a Docker tag (letters, digits, '.', '_', '-')"),
    ("services:\n  web: {tag: v1, digest: md5:x}\n", "overlays/prod/releases.yaml:services.web.digest: invalid value "
                                                     "'md5:x'; allowed: empty or sha256:<64 hex digits>"),
    ("services:\n  web: {digest: ''}\n", "overlays/prod/releases.yaml:services.web: invalid value '...'; "
                                         "allowed: 'tag' is a required property"),
    ("services:\n  web: {tag: 7}\n", "overlays/prod/releases.yaml:services.web.tag: invalid value 7; "
                                     "allowed: a Docker tag (letters, digits, '.', '_', '-')"),
    ("- a\n", "overlays/prod/releases.yaml:(top level): invalid value ['a']; allowed: ['a'] is not of type 'object'"),
])
def test_the_schema_names_the_field_and_what_is_allowed(tmp_path, text, message):
    assert error(r.parse_releases, text, r.releases_path(tmp_path, "prod")) == message


def test_the_shape_is_checked_before_anything_is_built(tmp_path):
    path = r.releases_path(tmp_path, "prod")
    big = "services:\n  web: {tag: v1}\n" + "#" * r.MAX_BYTES
    assert error(r.check_shape, big, "f") == f"f: invalid value '({len(big)} characters)'; allowed: at most 256 KiB"
    assert r.check_shape("#" * (r.MAX_BYTES - 1) + "\n", "f") is None
    assert error(r.parse_releases, "a: &x 1\nb: *x\n", path) == (
        "overlays/prod/releases.yaml: invalid value '(YAML anchor or alias)'; "
        "allowed: plain YAML without anchors and aliases")
    assert error(r.check_shape, "a: &x [1]\n", "f").startswith("f: invalid value '(YAML anchor or alias)'")
    deep = "a: " + "[" * 8 + "]" * 8 + "\n"  # 9 levels with the top mapping
    assert error(r.check_shape, deep, "f") == ("f: invalid value '(nested deeper than 8)'; "
                                               "allowed: services: <name>: {tag, digest}")
    assert r.check_shape("a: " + "[" * 7 + "]" * 7 + "\n", "f") is None
    assert r.check_shape("[[[[[[[[]]]]]]]]\n", "f") is None  # 8 levels: the limit itself
    wide = "a: " + "[[]]," * 20
    assert r.check_shape("x: [" + wide[3:] + "]\n", "f") is None  # siblings do not add up
    assert error(r.check_shape, "a: [\n", "f").startswith("f: invalid value '(unparsable YAML)'; allowed: valid YAML (")
    assert error(r.parse_releases, "a: b: c\n", path).startswith(
        "overlays/prod/releases.yaml: invalid value '(unparsable YAML)'; allowed: valid YAML (")
    tagged = error(r.parse_releases, "services: !!python/name:os.system x\n", path)  # a tag is data, never code
    assert tagged.startswith("overlays/prod/releases.yaml:services: invalid value ") and "is not of type 'object'" in tagged


def test_read_text_is_bounded_and_utf8(tmp_path):
    path = tmp_path / "overlays" / "prod" / "releases.yaml"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"services:\n  w\xc3\xa9b: {tag: v1}\n")
    assert r.read_text(path) == "services:\n  w\u00e9b: {tag: v1}\n"
    path.write_bytes(b"x" * r.MAX_BYTES)
    assert len(r.read_text(path)) == r.MAX_BYTES
    path.write_bytes(b"x" * (r.MAX_BYTES + 1))
    assert error(r.read_text, path) == ("overlays/prod/releases.yaml: invalid value '(too large)'; "
                                        "allowed: at most 256 KiB")
    path.write_bytes(b"services:\n\xff")
    assert error(r.read_text, path) == ("overlays/prod/releases.yaml: invalid value '(byte 10: not UTF-8)'; "
                                        "allowed: a UTF-8 text file")


def test_plain_turns_yaml_nodes_into_plain_data():
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    node = CommentedMap({1: CommentedSeq([DoubleQuotedScalarString("x"), 2, None])})
    plain = r._plain(node)
    assert plain == {"1": ["x", 2, None]} and type(plain) is dict and type(plain["1"]) is list
    assert type(plain["1"][0]) is str


# ---------------------------------------------------------------------------- the releases an environment runs


def workload(kind: str, name: str, images: list[tuple[str, str]], label: str | None = None) -> dict:
    meta = {"name": name, **({"labels": {r.NAME_LABEL: label}} if label else {})}
    containers = [{"name": n, "image": i} for n, i in images]
    spec = {"jobTemplate": {"spec": {"template": {"spec": {"containers": containers}}}}} if kind == "CronJob" else \
        {"template": {"spec": {"containers": containers}}}
    return {"kind": kind, "metadata": meta, "spec": spec}


def test_workload_images_by_service_name():
    objects = [workload("Deployment", "web", [("proxy", "envoy:1"), ("web", "reg/web:v1")]),
               workload("Rollout", "api-rollout", [("main", "reg/api:v2")], label="api"),
               workload("CronJob", "nightly", [("job", "reg/job:v3")]),
               workload("StatefulSet", "db", [("x", "reg/db:v4")]),
               workload("DaemonSet", "agent", [("a", "reg/agent:v5")]),
               workload("Job", "once", [("j", "reg/once:v6")]),
               workload("Deployment", "empty", []),
               workload("Deployment", "web-copy", [("web", "reg/other:v9")], label="web"),
               {"kind": "Service", "metadata": {"name": "svc"}, "spec": {}}]
    assert r.workload_images(objects) == {"web": "reg/web:v1", "api": "reg/api:v2", "nightly": "reg/job:v3",
                                          "db": "reg/db:v4", "agent": "reg/agent:v5", "once": "reg/once:v6"}
    assert r.workload_images([{"kind": "Deployment", "metadata": {}, "spec": {"template": {"spec": {
        "containers": [{"name": "c"}]}}}}]) == {"": ""}


def test_runs_release_and_image_reference():
    assert r.runs_release("reg/web:v1", r.Release("v1")) and not r.runs_release("reg/web:v10", r.Release("v1"))
    assert not r.runs_release("reg/web:v1", r.Release("v1", DIGEST))
    assert r.runs_release(f"reg/web@{DIGEST}", r.Release("v1", DIGEST))
    assert r.image_reference("reg", "web", r.Release("v1")) == "reg/web:v1"
    assert r.image_reference("reg", "web", r.Release("v1", DIGEST)) == f"reg/web@{DIGEST}"


def test_check_applied_proves_the_environment_runs_the_file(tmp_path):
    rel = r.parse_releases(TEXT, r.releases_path(tmp_path, "prod"))
    good = [workload("Deployment", "web", [("web", "reg/web:v1.0.0")]),
            workload("Deployment", "api", [("api", f"reg/api@{DIGEST}")])]
    assert r.check_applied(rel, good, "prod") is None
    stale = [good[0], workload("Deployment", "api", [("api", "reg/api:v2.0.0")])]
    assert error(r.check_applied, rel, stale, "prod") == (
        "api: image: invalid value 'reg/api:v2.0.0'; allowed: the release in overlays/prod/releases.yaml "
        f"(v2.0.0 {DIGEST}); build the image with releases.tag()/digest() in config.py")
    untagged = [workload("Deployment", "web", [("web", "reg/web:v0")]), good[1]]
    assert error(r.check_applied, rel, untagged, "prod") == (
        "web: image: invalid value 'reg/web:v0'; allowed: the release in overlays/prod/releases.yaml (v1.0.0); "
        "build the image with releases.tag()/digest() in config.py")
    typo = [workload("Deployment", "webb", [("webb", "x:v1.0.0")]), good[1]]
    assert error(r.check_applied, rel, typo, "prod") == (
        "overlays/prod/releases.yaml:services.web: invalid value 'web'; did you mean webb?")
    unrelated = [workload("Deployment", "zzz", [("z", "x:1")]), good[1]]
    assert error(r.check_applied, rel, unrelated, "prod") == (
        "overlays/prod/releases.yaml:services.web: invalid value 'web'; allowed: a workload of prod (api, zzz)")
    assert error(r.check_applied, rel, [], "dev") == (
        "overlays/prod/releases.yaml:services.web: invalid value 'web'; allowed: a workload of dev (none)")


# ---------------------------------------------------------------------------- editing and the commands


def test_edit_text_keeps_comments_order_and_quotes(tmp_path):
    path = r.releases_path(tmp_path, "prod")
    new = r.edit_text(TEXT, path, {"web": r.Release("v1.0.1", OTHER), "api": r.Release("v3")})
    assert new == TEXT.replace("tag: v1.0.0   # the web tier", f"tag: v1.0.1   # the web tier\n    digest: {OTHER}") \
        .replace('tag: "v2.0.0"\n    digest: sha256:' + "a" * 64 + "\n", 'tag: "v3"\n')  # its quotes kept
    assert r.edit_text(TEXT, path, {}) == TEXT
    assert error(r.edit_text, TEXT, path, {"db": r.Release("v1")}) == (
        "overlays/prod/releases.yaml:services: invalid value 'db'; allowed: web, api")
    assert error(r.edit_text, TEXT, path, {"web": r.Release("v 1")}).startswith(
        "overlays/prod/releases.yaml:services.web.tag: invalid value 'v 1'")
    assert error(r.edit_text, "services: {}\n", path, {}).startswith("overlays/prod/releases.yaml:services:")


def test_check_tag_and_digest():
    assert r.check_tag("v1.2_3-rc") is None and r.check_digest(DIGEST) is None
    assert error(r.check_tag, "-v1") == "--tag: invalid value '-v1'; allowed: a Docker tag (letters, digits, '.', '_', '-')"
    assert error(r.check_digest, "sha256:" + "A" * 64) == (
        f"--digest: invalid value 'sha256:{'A' * 64}'; allowed: sha256:<64 lower-case hex digits>")


def test_planned_set(tmp_path):
    root = project(tmp_path)
    before = r.releases_path(root, "prod").read_text()
    text = r.planned_set(root, "prod", "web", "v1.0.1", None)["prod"]
    assert r.parse_releases(text, Path("x")).services["web"] == r.Release("v1.0.1")
    # --tag alone drops the old digest; --digest alone keeps the tag; both set both
    assert r.parse_releases(r.planned_set(root, "prod", "api", "v9", None)["prod"], Path("x")).services["api"] == \
        r.Release("v9")
    assert r.parse_releases(r.planned_set(root, "prod", "api", None, OTHER)["prod"], Path("x")).services["api"] == \
        r.Release("v2.0.0", OTHER)
    assert r.parse_releases(r.planned_set(root, "prod", "web", None, OTHER)["prod"], Path("x")).services["web"] == \
        r.Release("v1.0.0", OTHER)
    assert r.parse_releases(r.planned_set(root, "prod", "web", "v2", OTHER)["prod"], Path("x")).services["web"] == \
        r.Release("v2", OTHER)
    assert list(r.planned_set(root, "dev", "web", "v2", None)) == ["dev"]
    assert error(r.planned_set, root, "prod", "web", None, None) == (
        "release set: invalid value '(nothing)'; allowed: --tag T and/or --digest sha256:...")
    assert error(r.planned_set, root, "prod", "web", "bad tag", None).startswith("--tag: invalid value 'bad tag'")
    assert error(r.planned_set, root, "prod", "web", None, "sha1:x").startswith("--digest: invalid value 'sha1:x'")
    # a service the file lacks is a first release: it needs a tag, and the config must define it (this
    # project has no config; the did-you-mean path runs end to end in tests/test_releases.py)
    assert error(r.planned_set, root, "prod", "wbe", None, OTHER) == (
        "--tag: invalid value '(none)'; allowed: a tag for the first release of wbe, which "
        "overlays/prod/releases.yaml does not list yet")
    assert error(r.planned_set, root, "prod", "zzzz", "v1", None).startswith("--env: invalid value 'prod'")
    assert r.releases_path(root, "prod").read_text() == before  # nothing written


def test_planned_promote(tmp_path):
    dev = TEXT.replace("v1.0.0", "v1.1.0").replace("a" * 64, "b" * 64) + "  extra:\n    tag: v0\n"
    root = project(tmp_path, {"prod": TEXT, "dev": dev})
    promoted = r.parse_releases(r.planned_promote(root, "dev", "prod", ())["prod"], Path("x"))
    assert promoted.services == {"web": r.Release("v1.1.0"), "api": r.Release("v2.0.0", OTHER)}
    one = r.parse_releases(r.planned_promote(root, "dev", "prod", ("web",))["prod"], Path("x"))
    assert one.services == {"web": r.Release("v1.1.0"), "api": r.Release("v2.0.0", DIGEST)}
    assert error(r.planned_promote, root, "dev", "dev", ()) == (
        "--to: invalid value 'dev'; allowed: an environment other than --from")
    assert error(r.planned_promote, root, "dev", "prod", ("extra",)) == (
        "SERVICE (--to prod): invalid value 'extra'; allowed: web, api")
    assert error(r.planned_promote, root, "prod", "dev", ("extr",)) == (
        "SERVICE (--from prod): invalid value 'extr'; allowed: web, api")
    assert error(r.planned_promote, root, "dev", "prod", ("wbe",)) == (
        "SERVICE (--from dev): invalid value 'wbe'; did you mean web?")
    assert list(r.planned_promote(root, "dev", "prod", ())) == ["prod"]


def test_the_overlays_copy_keeps_the_tree_and_counts_every_byte(tmp_path):
    src = tmp_path / "overlays"
    (src / "prod" / "sub").mkdir(parents=True)
    (src / "prod" / "config.py").write_bytes(b"x" * 10)
    (src / "prod" / "sub" / "data").write_bytes(b"y" * 10)
    (src / "link").symlink_to(src / "prod")
    r.copy_overlays(src, tmp_path / "copy", limit=20)
    assert (tmp_path / "copy" / "prod" / "sub" / "data").read_bytes() == b"y" * 10
    assert not (tmp_path / "copy" / "link").exists()
    assert error(r.copy_overlays, src, tmp_path / "copy2", 19) == (
        "prod/sub/data: invalid value '(overlays/ too large to copy)'; allowed: at most 0 MiB of regular files in overlays/")
    r.copy_overlays(src, tmp_path / "copy3")  # the default limit: 64 MiB
    assert (tmp_path / "copy3" / "prod" / "config.py").read_bytes() == b"x" * 10
