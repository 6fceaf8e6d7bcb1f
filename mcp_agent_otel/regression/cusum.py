"""Streaming regression detection: a one-sided CUSUM on log durations, as a pure state machine.

Over 500 lines on purpose: ``CusumDetector`` is one state machine (detect, cool down, adopt a
level, watch for recovery, persist) whose phases share one state and one invariant, and this
docstring is its specification. The recursions (``cusum_recursion``) and the tail watch
(``tail_watch``) are apart because they stand alone.

The store feeds each operation's durations (any one unit, e.g. milliseconds) to that
operation's ``CusumDetector``: ``update`` (O(1), one span) or ``update_many`` (a batch,
vectorized, about 10x cheaper per span). No I/O; ``state()`` / ``from_state()`` persist it.

How it decides:

* Each duration becomes ``z = (log(d) - reference) / sigma``; the reference starts at the
  baseline's mean log duration and ``sigma`` is the baseline's log standard deviation.
* A slowdown of ``threshold`` (10%) is a shift ``delta = log(1 + threshold) / sigma`` in z.
  The upper CUSUM ``S = max(0, S + z - delta/2)`` accumulates evidence for it (``delta/2`` is
  the reference value that is optimal for that shift) and an alert is raised when ``S > h``.
* ``h`` defaults to ``DEFAULT_DECISION_NATS / delta``: the CUSUM then stops at a fixed
  log-likelihood ratio (8 nats), which gives the same false-alarm rate for every spread. The
  delay in spans grows with ``sigma**2``. At log-sigma 0.5 and a 10% step, measured by
  ``tests/performance/test_bench_statistics.py`` (full size): median delay ~350 spans with a
  long tail (p95 ~900), and ~64,000 spans between false alarms (centre and tail watch
  together) for detectors built from 2,000-span baselines (~185,000 with the true
  parameters). Bringing the p95 under 400 would
  take ``h`` near 4 nats and a false alarm every ~3,500 spans: a choice left to the caller.
* **One regression, one alert.** After an alert the detector is quiet for ``cooldown``
  observations and measures the new level over them. If a level is up by more than half the
  threshold it is *adopted*: its running mean (refined by every later span) plus two standard
  errors becomes the reference, so the same regression does not alert again, while a further
  slowdown of ``threshold`` on top of it does. While a level is adopted, a second CUSUM watches
  for the return to the baseline (reference value halfway between the two levels; it stops at
  twice the alerts' log-likelihood ratio, because a false recovery would mean a duplicate
  alert); on recovery the baseline is the reference again, silently (only slowdowns alert), so
  a recurrence alerts again. A level within half the threshold of the baseline (a false alarm)
  leaves the baseline as the reference.
* **A false alarm must not adopt a later step as its level.** A level measured over a
  cool-down into which a real step fell would be that step's, and hide it. Two rules:

  1. *Transient alarms end their cool-down.* From the alert on, the recovery CUSUM above
     watches the alarm's own level: the level estimated from the run that crossed, less two
     standard errors of that run (z units, ``gap``; no watch for an alarm on top of an
     adopted level). When it recovers (twice the alerts' log-likelihood ratio) the
     regression alerted is over: the cool-down ends there, nothing is adopted and the CUSUM
     runs on against the baseline, so a step that begins later, even early in the cool-down,
     is alerted as any step is. The larger the alarm's level the sooner this is known
     (a 2x burst at log-sigma 0.5: ~25 spans; 1.3x: ~300). A real regression does not
     recover, so it is not alerted twice; a spike that settles into a smaller lasting
     regression (2x for 50 spans, then +10%) is over as alerted, so the settled level gets
     an alert of its own too (in ~60% of streams; one alert, the spike's, before). The
     tail watch does the same for its own alarms (``tail_watch.recovery_share``), else a
     tail alert on a burst would hold a later step's centre alert.
  2. *Premature alarms restart primed.* When the watch has not concluded by the cool-down's
     end, an alert whose cool-down starts at the baseline (first half within a quarter of
     the threshold) was premature: nothing is adopted and the CUSUM restarts primed with
     the second half, so a step in the second half is alerted at once or soon after.

  Measured (``tests/performance/test_bench_gate_rates.py``, full size, 1,000 streams, a 2x
  burst's false alarm then a +10% step 125-443 spans later): the step is alerted in 99.1%
  (first half of the cool-down 98.9%, second 99.2%; 73.2% with rule 2 alone); a persistent
  step is alerted twice in 3.7% (unchanged). What no rule can do: a false alarm raised by
  noise alone has a level near the threshold, so it is not over within the cool-down, and a
  step that begins within ~250 spans of it can hardly be told from the alarm's own
  regression (the only evidence is the cool-down's spans before the step, ~2.3 nats at 125
  spans for 10% at log-sigma 0.5); rule 2 then adopts it.
* ``estimated_ratio`` in an alert is the level against the *baseline*, estimated from the run
  that crossed (``reference + sigma * (delta/2 + S/N)`` over the N observations since the
  statistic last left zero); as any estimate taken at a crossing it is biased a little upwards.
* Sensitivity to the baseline: ``delta/2`` is only ~0.1 sigma for 10% at log-sigma 0.5, so an
  error in the baseline mean shortens the run length without change. The benchmark builds each
  detector from a 2,000-span baseline (the store's reservoir size) and reports the false-alarm
  rate next to that of detectors given the true parameters.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from mcp_agent_otel.regression.cusum_recursion import lindley, run_lengths
from mcp_agent_otel.regression.statistics import DEFAULT_THRESHOLD, as_durations
from mcp_agent_otel.regression.tail_watch import (
    MAX_RECOVERY_SHARE,
    TAIL_P0,
    TAIL_P1,
    TailWatch,
    tail_quantile,
)

FloatArray = NDArray[np.float64]

DEFAULT_DECISION_NATS = 8.0
DEFAULT_COOLDOWN = 500
# A baseline whose log durations do not vary at all would make every jitter infinite in z;
# its spread is floored at 0.1% (log units).
MIN_LOG_STD = 1e-3
# Recovery (the return of an adopted level to the baseline) stops at this multiple of the
# alerts' decision interval, in log-likelihood-ratio units.
RECOVERY_NATS_FACTOR = 2.0
# An alert is confirmed when the first EARLY_WINDOW of its cool-down sits above the baseline
# by more than PREMATURE_FRACTION of the threshold (log units); else it was premature.
EARLY_WINDOW = 0.5
PREMATURE_FRACTION = 0.25


@dataclass(frozen=True)
class DetectorAlert:
    operation: str
    index: int  # 0-based number of the observation (since the detector was created) that triggered
    estimated_ratio: float  # current level / baseline (1.12 = 12% slower)
    statistic: float  # the CUSUM value that crossed h (z units)
    baseline_median: float  # exp(baseline log mean), in the durations' unit
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DetectorAlert:
        return cls(
            operation=str(data["operation"]),
            index=int(data["index"]),
            estimated_ratio=float(data["estimated_ratio"]),
            statistic=float(data["statistic"]),
            baseline_median=float(data["baseline_median"]),
            message=str(data["message"]),
        )


def _positive_finite(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and number > 0.0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return number


class CusumDetector:
    """One operation's streaming slowdown detector (see the module doc)."""

    _CONFIG_KEYS: ClassVar[tuple[str, ...]] = (
        "baseline_log_mean",
        "baseline_log_std",
        "threshold",
        "h",
        "cooldown",
    )
    _STATE_KEYS: ClassVar[tuple[str, ...]] = (
        "reference",
        "level_sum",
        "level_n",
        "upper",
        "upper_n",
        "lower",
        "index",
        "cooldown_left",
        "cooldown_sum",
        "cooldown_n",
        "alerts",
    )

    def __init__(
        self,
        operation: str,
        baseline_log_mean: float,
        baseline_log_std: float,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        h: float | None = None,
        cooldown: int = DEFAULT_COOLDOWN,
        baseline_log_p95: float | None = None,
    ) -> None:
        if not isinstance(operation, str):
            raise ValueError(f"operation must be a string label, got {operation!r}")
        mean = float(baseline_log_mean)
        if not math.isfinite(mean):
            raise ValueError(f"baseline_log_mean must be finite, got {baseline_log_mean!r}")
        self.operation = operation
        self.baseline_log_mean = mean
        self.baseline_log_std = _positive_finite(baseline_log_std, "baseline_log_std")
        self.threshold = _positive_finite(threshold, "threshold")
        self.shift = math.log1p(self.threshold) / self.baseline_log_std  # delta, z units
        self.k = self.shift / 2.0
        self.h = DEFAULT_DECISION_NATS / self.shift if h is None else _positive_finite(h, "h")
        self.decision_nats = self.h * self.shift  # h in log-likelihood-ratio units
        if isinstance(cooldown, bool) or not isinstance(cooldown, int) or cooldown < 0:
            raise ValueError(f"cooldown must be an integer >= 0 (observations), got {cooldown!r}")
        self.cooldown = cooldown
        self.baseline_median = math.exp(mean)
        self._reference = mean  # what the upper CUSUM compares against
        # The level adopted after an alert: running sum and count of its log durations (0: none).
        self._level_sum = 0.0
        self._level_n = 0
        self._upper = 0.0
        self._upper_n = 0
        self._lower = 0.0
        self._index = 0
        self._cooldown_left = 0
        self._cooldown_sum = 0.0
        self._cooldown_early_sum = 0.0  # of the cool-down's first half
        self._cooldown_n = 0
        # The alarm's level above the baseline (z units, less two standard errors) that the
        # recovery CUSUM watches during the cool-down (0: none).
        self._alarm_gap = 0.0
        self._alerts = 0
        self.tail: TailWatch | None = None
        # While the tail's alert holds (until its recovery), the centre's crossings belong to
        # that regression: they settle the level as usual but raise no alert of their own.
        self._centre_muted = False
        if baseline_log_p95 is not None and math.isfinite(baseline_log_p95):
            self.tail = TailWatch(baseline_log_p95, mean, self.baseline_log_std, self.decision_nats)

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def from_baseline(
        cls,
        operation: str,
        durations: Sequence[float] | NDArray[Any],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        h: float | None = None,
        cooldown: int = DEFAULT_COOLDOWN,
    ) -> CusumDetector:
        """A detector whose reference is the mean and spread of the baseline's log durations.

        Needs at least 2 positive finite durations (a few hundred give a stable reference).
        """
        values = as_durations(durations, f"operation {operation!r}: baseline")
        if values.size < 2:
            raise ValueError(
                f"operation {operation!r}: a detector baseline needs at least 2 durations, got "
                f"{values.size}; collect more spans before arming the detector"
            )
        logs = np.log(values)
        std = max(float(np.std(logs, ddof=1)), MIN_LOG_STD)
        return cls(
            operation,
            float(np.mean(logs)),
            std,
            threshold=threshold,
            h=h,
            cooldown=cooldown,
            baseline_log_p95=tail_quantile(logs, threshold),
        )

    # --- streaming ---------------------------------------------------------------------------

    @property
    def index(self) -> int:
        """How many observations the detector has seen."""
        return self._index

    @property
    def level_ratio(self) -> float:
        """The level adopted after the last alert, relative to the baseline (1.0: none)."""
        if self._level_n == 0:
            return 1.0
        return math.exp(self._level_sum / self._level_n - self.baseline_log_mean)

    def update(self, duration: float) -> DetectorAlert | None:
        """Feed one duration; returns an alert when this observation crosses ``h`` (the
        centre's, else the tail's: should both cross on the same span, the centre's wins)."""
        log_d = math.log(_positive_finite(duration, f"operation {self.operation!r}: duration"))
        self._centre_muted = self.tail is not None and self.tail.holds
        crossings = self.tail.feed(np.array([log_d]), self._index) if self.tail else []
        centre = self._update_centre(log_d)
        tail = None
        for index, share, alarm in crossings:
            own = alarm and centre is None and self._tail_own()
            tail = self._tail_alert(index, share) if own else None
            self._hold(own)
        return centre or tail

    def _hold(self, held: bool) -> None:
        """A tail alert holds the centre's alerts until the tail recovers (any other tail
        crossing, a recovery or an alarm the centre already reported, releases them)."""
        assert self.tail is not None
        self.tail.holds = held
        self._centre_muted = held

    def _tail_own(self) -> bool:
        """Whether a tail crossing is the tail's own news: not while the centre has alerted
        (its cool-down) or holds an adopted level, since a slower centre also pushes more spans
        above the baseline's p95 (one regression, one alert)."""
        return self._cooldown_left == 0 and self._level_n == 0

    def _tail_alert(self, index: int, share: float) -> DetectorAlert:
        assert self.tail is not None
        self._alerts += 1
        ratio = self.tail.estimated_ratio(share)
        return DetectorAlert(
            operation=self.operation,
            index=index,
            estimated_ratio=ratio,
            statistic=self.tail.h,
            baseline_median=self.baseline_median,
            message=(
                f"{self.operation or 'operation'}: p95 up about {(ratio - 1.0) * 100.0:.0f}%: "
                f"{share:.0%} of the latest spans are slower than the baseline's p95 "
                f"({math.exp(self.tail.log_p95):.4g}; {TAIL_P0:.0%} expected); tail CUSUM "
                f"crossed {self.tail.h:.1f} nats"
            ),
        )

    def _update_centre(self, log_d: float) -> DetectorAlert | None:
        index = self._index
        self._index += 1
        if self._cooldown_left > 0:
            return self._cool(log_d, index)
        sigma = self.baseline_log_std
        if self._level_n > 0 and self._track_level(log_d):
            return None
        self._upper = max(0.0, self._upper + (log_d - self._reference) / sigma - self.k)
        self._upper_n = self._upper_n + 1 if self._upper > 0.0 else 0
        if self._upper <= self.h:
            return None
        level = self._reference + sigma * (self.k + self._upper / self._upper_n)
        alert = self._alert(index, level)
        self._after_alert(level)
        return None if self._centre_muted else alert

    def _track_level(self, log_d: float) -> bool:
        """Refine the adopted level with one observation; True when it has recovered.

        The level is the running mean of the log durations since it was adopted; the upper
        CUSUM's reference sits two standard errors above it. Recovery is a CUSUM for the shift
        from (two standard errors below) the level back to the baseline, with the midpoint as
        its reference value, stopping at twice the alerts' log-likelihood ratio: a false
        recovery would mean a duplicate alert, while a late one only delays re-arming.
        """
        sigma = self.baseline_log_std
        self._level_sum += log_d
        self._level_n += 1
        level = self._level_sum / self._level_n
        guard = 2.0 * sigma / math.sqrt(self._level_n)
        self._reference = level + guard
        gap = (level - guard - self.baseline_log_mean) / sigma
        if gap <= 0.0:  # not yet measured well enough to tell a recovery from noise
            return False
        if self._recovery_step(gap, log_d):
            self._settle(0.0, 0)
            return True
        return False

    def _recovery_step(self, gap: float, log_d: float) -> bool:
        """One step of the recovery CUSUM for a level ``gap`` (z units) above the baseline,
        reference value halfway; True when it crosses twice the alerts' log-likelihood ratio."""
        midpoint = self.baseline_log_mean + gap * self.baseline_log_std / 2.0
        self._lower = max(0.0, self._lower + (midpoint - log_d) / self.baseline_log_std)
        return self._lower * gap > RECOVERY_NATS_FACTOR * self.decision_nats

    def update_many(self, durations: Sequence[float] | NDArray[Any]) -> list[DetectorAlert]:
        """Feed durations in order; the alerts they raise. Validated first: all or nothing.

        The same state machine as ``update``, vectorized: between two events (an alert, the
        end of a cool-down, a recovery) the CUSUM recursion ``S = max(0, S + x)`` is computed
        in closed form, ``S_t = C_t - min(-S_0, min_{j<=t} C_j)`` over the cumulative sums ``C``.
        Results equal feeding ``update`` one by one up to floating-point rounding.
        """
        values = as_durations(durations, f"operation {self.operation!r}:")
        logs = np.log(values)
        first = self._index
        self._centre_muted = self.tail is not None and self.tail.holds
        crossings = self.tail.feed(logs, first) if self.tail else []
        alerts: list[DetectorAlert] = []
        done = 0
        for index, share, alarm in crossings:  # the centre up to each tail crossing, then it
            centre = self._centre_many(logs[done : index - first + 1])
            alerts += centre
            done = index - first + 1
            own = alarm and not (centre and centre[-1].index == index) and self._tail_own()
            if own:
                alerts.append(self._tail_alert(index, share))
            self._hold(own)
        return alerts + self._centre_many(logs[done:])

    def _centre_many(self, logs: FloatArray) -> list[DetectorAlert]:
        alerts: list[DetectorAlert] = []
        start = 0
        while start < logs.size:
            if self._cooldown_left > 0:
                while self._cooldown_left > 0 and start < logs.size:
                    alert = self._cool(float(logs[start]), self._index)
                    self._index += 1
                    start += 1
                    if alert is not None:
                        alerts.append(alert)
                continue
            start = self._run_until_event(logs, start, alerts)
        return alerts

    def _run_until_event(self, logs: FloatArray, start: int, alerts: list[DetectorAlert]) -> int:
        """Process ``logs[start:]`` up to and including the first event; where to go on from."""
        segment = logs[start:]
        sigma = self.baseline_log_std
        recovery_at: int | None = None
        if self._level_n == 0:
            reference: FloatArray | float = self._reference
            level_sums: FloatArray | None = None
        else:
            counts = self._level_n + np.arange(1, segment.size + 1, dtype=np.float64)
            level_sums = self._level_sum + np.cumsum(segment)
            level = level_sums / counts
            guard = 2.0 * sigma / np.sqrt(counts)
            reference = level + guard
            gap = (level - guard - self.baseline_log_mean) / sigma
            midpoint = self.baseline_log_mean + gap * sigma / 2.0
            steps = np.where(gap > 0.0, (midpoint - segment) / sigma, 0.0)
            lower = lindley(steps, self._lower)
            recovered = (gap > 0.0) & (lower * gap > RECOVERY_NATS_FACTOR * self.decision_nats)
            if recovered.any():
                recovery_at = int(np.argmax(recovered))
        upper = lindley((segment - reference) / sigma - self.k, self._upper)
        crossed = upper > self.h
        cross_at = int(np.argmax(crossed)) if crossed.any() else None
        if recovery_at is not None and (cross_at is None or recovery_at <= cross_at):
            self._index += recovery_at + 1
            self._settle(0.0, 0)
            return start + recovery_at + 1
        end = segment.size - 1 if cross_at is None else cross_at
        runs = run_lengths(upper[: end + 1], self._upper_n)
        self._upper = float(upper[end])
        self._upper_n = int(runs[end])
        if level_sums is not None:
            self._level_sum = float(level_sums[end])
            self._level_n += end + 1
            self._lower = float(lower[end])
            self._reference = float(np.asarray(reference)[end])
        index = self._index + end
        self._index += end + 1
        if cross_at is not None:
            level_now = self._reference + sigma * (self.k + self._upper / self._upper_n)
            alert = self._alert(index, level_now)
            if not self._centre_muted:
                alerts.append(alert)
            self._after_alert(level_now)
        return start + end + 1

    @property
    def _early_n(self) -> int:
        return int(self.cooldown * EARLY_WINDOW)

    def _cool(self, log_d: float, index: int) -> DetectorAlert | None:
        """One observation of the cool-down; at its end, settle (which may alert)."""
        if self._cooldown_n < self._early_n:
            self._cooldown_early_sum += log_d
        self._cooldown_sum += log_d
        self._cooldown_n += 1
        self._cooldown_left -= 1
        if self._alarm_gap > 0.0 and self._recovery_step(self._alarm_gap, log_d):
            self._cooldown_left = 0  # the alarm's regression is over: a transient
            self._settle(0.0, 0)
            return None
        return self._end_cooldown(index) if self._cooldown_left == 0 else None

    def _end_cooldown(self, index: int) -> DetectorAlert | None:
        """Settle after the cool-down that followed an alert.

        The alert is *confirmed* when the cool-down's first half already sits above the
        baseline by more than a quarter of the threshold: the level measured over the whole
        cool-down is then settled as before (adopted when up by more than half the
        threshold). Otherwise the alarm came before any change (a false alarm, perhaps
        followed by a real step within the cool-down): no level is adopted, since one
        measured across a step would hide that step, and the CUSUM restarts against the
        baseline primed with the second half's evidence, so a step there alerts at once or
        soon after.
        """
        early_n = self._early_n
        base = self.baseline_log_mean
        quarter = math.log1p(self.threshold) * PREMATURE_FRACTION
        if early_n == 0 or self._cooldown_early_sum / early_n - base > quarter:
            self._settle(self._cooldown_sum, self._cooldown_n)
            return None
        self._settle(0.0, 0)
        late_n = self._cooldown_n - early_n
        late_sum = self._cooldown_sum - self._cooldown_early_sum
        primed = (late_sum - late_n * base) / self.baseline_log_std - self.k * late_n
        if primed <= 0.0:
            return None
        self._upper, self._upper_n = primed, late_n
        if self._upper <= self.h:
            return None
        level = self._reference + self.baseline_log_std * (self.k + self._upper / self._upper_n)
        alert = self._alert(index, level)
        self._after_alert(level)
        return None if self._centre_muted else alert

    def _after_alert(self, level: float) -> None:
        if self.cooldown > 0:
            self._alarm_gap = self._transient_gap(level)
            self._cooldown_left = self.cooldown
            self._cooldown_sum = 0.0
            self._cooldown_early_sum = 0.0
            self._cooldown_n = 0
            self._reset_statistics()
        else:
            self._settle(level * self._upper_n, self._upper_n)

    def _transient_gap(self, level: float) -> float:
        """How far (z units) the alarm's level sits above the baseline, less two standard
        errors of its run; 0 (no watch) when it is not above it or the alarm was against an
        adopted level."""
        if self._level_n > 0 or self._upper_n == 0:
            return 0.0
        sigma = self.baseline_log_std
        gap = (level - self.baseline_log_mean) / sigma - 2.0 / math.sqrt(self._upper_n)
        return max(gap, 0.0)

    def _reset_statistics(self) -> None:
        self._upper = 0.0
        self._upper_n = 0
        self._lower = 0.0

    def _settle(self, log_sum: float, count: int) -> None:
        """Adopt the level ``log_sum / count`` if it is up by more than half the threshold.

        Otherwise (a false alarm, a recovery: ``count`` 0) the baseline is the reference again.
        """
        base = self.baseline_log_mean
        self._alarm_gap = 0.0
        if count > 0 and log_sum / count - base > math.log1p(self.threshold) / 2.0:
            self._level_sum = log_sum
            self._level_n = count
            self._reference = log_sum / count + 2.0 * self.baseline_log_std / math.sqrt(count)
        else:
            self._level_sum = 0.0
            self._level_n = 0
            self._reference = base
        self._reset_statistics()

    def _alert(self, index: int, level: float) -> DetectorAlert:
        self._alerts += 1
        ratio = math.exp(level - self.baseline_log_mean)
        return DetectorAlert(
            operation=self.operation,
            index=index,
            estimated_ratio=ratio,
            statistic=self._upper,
            baseline_median=self.baseline_median,
            message=(
                f"{self.operation or 'operation'}: latency up about {(ratio - 1.0) * 100.0:.0f}% "
                f"against the baseline (median {self.baseline_median:.4g}); CUSUM "
                f"{self._upper:.1f} crossed {self.h:.1f} after {self._upper_n} observations "
                f"(threshold {self.threshold:.0%})"
            ),
        )

    # --- persistence ---------------------------------------------------------------------

    def state(self) -> dict[str, float]:
        """Everything needed to resume the detector exactly (plain floats, JSON-safe)."""
        return {
            "baseline_log_mean": self.baseline_log_mean,
            "baseline_log_std": self.baseline_log_std,
            "threshold": self.threshold,
            "h": self.h,
            "cooldown": float(self.cooldown),
            "reference": self._reference,
            "level_sum": self._level_sum,
            "level_n": float(self._level_n),
            "upper": self._upper,
            "upper_n": float(self._upper_n),
            "lower": self._lower,
            "index": float(self._index),
            "cooldown_left": float(self._cooldown_left),
            "cooldown_sum": self._cooldown_sum,
            "cooldown_early_sum": self._cooldown_early_sum,
            "cooldown_n": float(self._cooldown_n),
            "alarm_gap": self._alarm_gap,
            "alerts": float(self._alerts),
            **(self.tail.state() if self.tail is not None else {}),
        }

    @classmethod
    def from_state(cls, operation: str, state: Mapping[str, float]) -> CusumDetector:
        """Resume a detector from ``state()``; a ValueError says which entries are unusable."""
        missing = [k for k in (*cls._CONFIG_KEYS, *cls._STATE_KEYS) if k not in state]
        if missing:
            raise ValueError(
                f"operation {operation!r}: detector state lacks {', '.join(missing)}; "
                f"recreate the detector from its baseline"
            )
        values: dict[str, float] = {}
        for key in (*cls._CONFIG_KEYS, *cls._STATE_KEYS):
            raw = state[key]
            try:
                number = float(raw)
            except (TypeError, ValueError):
                number = math.nan
            if isinstance(raw, bool) or not math.isfinite(number):
                raise ValueError(
                    f"operation {operation!r}: detector state entry {key!r} must be a finite "
                    f"number, got {raw!r}; recreate the detector from its baseline"
                )
            values[key] = number
        counts = (
            "cooldown",
            "upper_n",
            "level_n",
            "index",
            "cooldown_left",
            "cooldown_n",
            "alerts",
        )
        for key in counts:
            if values[key] < 0 or values[key] != int(values[key]):
                raise ValueError(
                    f"operation {operation!r}: detector state entry {key!r} must be a whole "
                    f"number >= 0, got {state[key]!r}; recreate the detector from its baseline"
                )
        if values["upper"] < 0 or values["lower"] < 0:
            raise ValueError(
                f"operation {operation!r}: detector state has a negative CUSUM statistic; "
                f"recreate the detector from its baseline"
            )
        detector = cls(
            operation,
            values["baseline_log_mean"],
            values["baseline_log_std"],
            threshold=values["threshold"],
            h=values["h"],
            cooldown=int(values["cooldown"]),
        )
        detector._reference = values["reference"]
        detector._level_sum = values["level_sum"]
        detector._level_n = int(values["level_n"])
        detector._upper = values["upper"]
        detector._upper_n = int(values["upper_n"])
        detector._lower = values["lower"]
        detector._index = int(values["index"])
        detector._cooldown_left = int(values["cooldown_left"])
        detector._cooldown_sum = values["cooldown_sum"]
        # Absent from states saved before it existed: the first half's share of the sum.
        early = state.get("cooldown_early_sum")
        early_n = min(int(values["cooldown_n"]), detector._early_n)
        detector._cooldown_early_sum = (
            float(early)
            if isinstance(early, (int, float))
            and not isinstance(early, bool)
            and math.isfinite(float(early))
            else values["cooldown_sum"] * early_n / max(int(values["cooldown_n"]), 1)
        )
        detector._cooldown_n = int(values["cooldown_n"])
        # Absent from states saved before the transient watch: 0, no watch (the old rule).
        gap = state.get("alarm_gap", 0.0)
        detector._alarm_gap = (
            float(gap)
            if isinstance(gap, (int, float))
            and not isinstance(gap, bool)
            and math.isfinite(float(gap))
            and gap > 0
            else 0.0
        )
        detector._alerts = int(values["alerts"])
        detector.tail = _tail_from_state(state, detector)
        return detector


def _tail_from_state(state: Mapping[str, float], detector: CusumDetector) -> TailWatch | None:
    """The tail watch of a saved state (None for states saved before it, or unusable)."""
    try:
        fresh = TailWatch(0.0, 0.0, 1.0, 1.0).state()
        # tail_alarm_share: absent from states saved before it (TAIL_P1, the old recovery)
        values = {
            k: float(state.get(k, fresh[k]) if k == "tail_alarm_share" else state[k]) for k in fresh
        }
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in values.values()) or values["tail_upper"] < 0:
        return None
    tail = TailWatch(
        values["tail_log_p95"],
        detector.baseline_log_mean,
        detector.baseline_log_std,
        detector.decision_nats,
    )
    tail.centre = values["tail_centre"]
    tail.upper = values["tail_upper"]
    tail.run = max(int(values["tail_run"]), 0)
    tail.hits = max(int(values["tail_hits"]), 0)
    tail.armed = values["tail_armed"] >= 0.5
    tail.holds = values["tail_holds"] >= 0.5
    tail.alarm_share = min(max(values["tail_alarm_share"], TAIL_P1), MAX_RECOVERY_SHARE)
    return tail
