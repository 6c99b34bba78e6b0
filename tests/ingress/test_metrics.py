"""webhooks_in.metrics: Prometheus text exposition, by hand."""

from __future__ import annotations

from webhooks_in.metrics import Counter, Histogram, IngressMetrics


def test_counters_render_one_sample_per_label_set_sorted() -> None:
    counter = Counter("events_total", "Events.", ("event", "outcome"))
    counter.inc("B", "ok")
    counter.inc("A", "ok", amount=2)
    counter.inc("B", "ok")
    assert counter.render() == [
        "# HELP events_total Events.",
        "# TYPE events_total counter",
        'events_total{event="A",outcome="ok"} 2',
        'events_total{event="B",outcome="ok"} 2',
    ]


def test_label_values_are_escaped() -> None:
    counter = Counter("c", "C.", ("name",))
    counter.inc('a"b\\c\nd')
    assert counter.render()[-1] == 'c{name="a\\"b\\\\c\\nd"} 1'


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    histogram = Histogram("latency_seconds", "Latency.", (0.01, 0.1, 1.0))
    for value in (0.005, 0.01, 0.05, 2.0):
        histogram.observe(value)
    assert histogram.render() == [
        "# HELP latency_seconds Latency.",
        "# TYPE latency_seconds histogram",
        'latency_seconds_bucket{le="0.01"} 2',
        'latency_seconds_bucket{le="0.1"} 3',
        'latency_seconds_bucket{le="1"} 3',
        'latency_seconds_bucket{le="+Inf"} 4',
        "latency_seconds_sum 2.065",
        "latency_seconds_count 4",
    ]


def test_an_empty_registry_still_declares_its_metrics() -> None:
    text = IngressMetrics().render()
    assert "# TYPE b24dd_ingress_events_total counter" in text
    assert 'b24dd_ingress_enqueue_seconds_bucket{le="+Inf"} 0' in text
    assert text.endswith("\n")
