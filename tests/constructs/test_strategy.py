"""Strategy: the update strategies and the Rollout strategy JSON they produce."""

from __future__ import annotations

from tripgen_cdk8s.lib.constructs import BlueGreenStrategy, CanaryStrategy, PreviewAnalysis, RollingStrategy, Strategy


def test_rolling_is_a_deployment():
    s = Strategy.rolling()
    assert isinstance(s, RollingStrategy) and (s.kind, s.api_version) == ("Deployment", "apps/v1")
    assert (s.max_surge, s.max_unavailable, s.revision_history_limit, s.progress_deadline_seconds) == (1, 0, 10, 600)
    assert Strategy.rolling(max_surge=3, max_unavailable=1).max_unavailable == 1


def test_blue_green_defaults_and_json():
    s = Strategy.blue_green()
    assert isinstance(s, BlueGreenStrategy) and (s.kind, s.api_version) == ("Rollout", "argoproj.io/v1alpha1")
    assert s.to_json("a", "a-preview", None) == {"blueGreen": {
        "activeService": "a", "previewService": "a-preview", "autoPromotionEnabled": False,
        "scaleDownDelaySeconds": 1800}}


def test_blue_green_with_an_analysis_template():
    analysis = PreviewAnalysis("http://prom:9090", "q", "1")
    s = Strategy.blue_green(auto_promotion_enabled=True, scale_down_delay_seconds=60, analysis=analysis)
    assert s.analysis is analysis
    assert s.to_json("a", "a-preview", "t")["blueGreen"] == {
        "activeService": "a", "previewService": "a-preview", "autoPromotionEnabled": True,
        "scaleDownDelaySeconds": 60,
        "prePromotionAnalysis": {"templates": [{"templateName": "t"}],
                                 "args": [{"name": "service-name", "value": "a-preview"}]}}
    assert (analysis.metric_name, analysis.interval, analysis.count, analysis.failure_limit) == (
        "preview-check", "1m", 5, 0)


def test_canary_default_steps_with_pauses_in_minutes_or_seconds():
    s = Strategy.canary()
    assert isinstance(s, CanaryStrategy) and s.kind == "Rollout"
    assert s.to_json() == {"canary": {"maxSurge": "25%", "maxUnavailable": 0, "steps": [
        {"setWeight": 5}, {"pause": {"duration": "10m"}}, {"setWeight": 25}, {"pause": {"duration": "15m"}},
        {"setWeight": 50}, {"pause": {"duration": "20m"}}, {"setWeight": 100}]}}
    assert Strategy.canary(steps=((20, 45),), max_surge="1").to_json() == {"canary": {
        "maxSurge": "1", "maxUnavailable": 0,
        "steps": [{"setWeight": 20}, {"pause": {"duration": "45s"}}, {"setWeight": 100}]}}
