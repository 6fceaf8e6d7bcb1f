"""The live detector's tail watch: a Bernoulli CUSUM on exceedances of the baseline's p95.

Used by ``cusum.CusumDetector`` beside its CUSUM on the centre, so a spread regression (p95
up, median unchanged) is alerted too. Pure state machine; no I/O.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import signal, special

from mcp_agent_otel.regression.cusum_recursion import lindley, run_lengths

FloatArray = NDArray[np.float64]

TAIL_QUANTILE = 0.95
TAIL_P0 = 1.0 - TAIL_QUANTILE  # the share of spans above the baseline's p95, unchanged
TAIL_P1 = 2.0 * TAIL_P0  # the share the tail CUSUM is tuned to catch (twice as many)
MIN_TAIL_BASELINE = 100  # baseline spans needed to place its p95
TAIL_EWMA = 0.01  # weight of each span in the tail watch's running centre


def tail_quantile(logs: FloatArray, threshold: float) -> float | None:
    """The baseline's log p95 for a ``TailWatch``; None when the baseline is too small to
    place it, or so narrow that its p95 is within the threshold of its centre (there the
    centre's CUSUM already sees every change that matters)."""
    if logs.size < MIN_TAIL_BASELINE:
        return None
    log_p95 = float(np.quantile(logs, TAIL_QUANTILE))
    return log_p95 if log_p95 - float(np.mean(logs)) > math.log1p(threshold) else None


MAX_RECOVERY_SHARE = 0.99  # keeps the recovery's log-likelihood ratios finite


def recovery_share(share: float, run: int) -> float:
    """The exceedance share a tail alarm's recovery tests against: the crossing run's share
    less two standard errors, at least ``TAIL_P1`` (what the alarm was tuned to catch)."""
    lower = share - 2.0 * math.sqrt(share * (1.0 - share) / max(run, 1))
    return min(max(lower, TAIL_P1), MAX_RECOVERY_SHARE)


class TailWatch:
    """A Bernoulli CUSUM on "this span is further above the current centre than the
    baseline's p95 was above its centre".

    The centre's CUSUM cannot see a spread regression (log-sigma 0.5 -> 0.8 with the median
    unchanged moves p95 by 1.64x while the mean log duration stays put); the share of spans
    that far above the centre goes from 5% to 15%. The centre is tracked by an exponentially
    weighted mean of log durations (``TAIL_EWMA``, ~100 spans), so a plain shift of the whole
    distribution, which the centre's CUSUM reports, soon stops counting here: the two watch
    different things. Each span adds its log-likelihood ratio of
    ``TAIL_P1`` against ``TAIL_P0`` (``log 2`` above, ``log(0.9/0.95)`` below); the alert
    comes at ``decision_nats``, as the centre's. After an alert the watch is disarmed (one
    regression, one alert) until the mirror CUSUM sees the share back at ``TAIL_P0``, tested
    against the alarm's own share (``recovery_share``: that of the run that crossed, less two
    standard errors, at least ``TAIL_P1``): a burst's alarm (most spans above) is over within a
    few spans of the burst, a spread regression's (~15%) recovers as against ``TAIL_P1``.
    """

    UP = (math.log(TAIL_P1 / TAIL_P0), math.log((1.0 - TAIL_P1) / (1.0 - TAIL_P0)))

    def __init__(self, log_p95: float, log_mean: float, sigma: float, decision_nats: float) -> None:
        self.log_p95 = log_p95
        self.offset = log_p95 - log_mean  # how far the baseline's p95 is above its centre
        self.centre = log_mean  # the running centre (EWMA of log durations)
        self.sigma = sigma
        self.h = decision_nats
        self.upper = 0.0
        self.run = 0  # observations since the statistic was last 0
        self.hits = 0  # exceedances among them
        self.armed = True
        self.holds = False  # this watch's alert holds the centre's (until it recovers)
        # The share the recovery tests against: the alarm's own share, less two standard
        # errors, and at least TAIL_P1 (a burst's alarm is then over within a few spans).
        self.alarm_share = TAIL_P1

    def _steps(self, above: NDArray[np.bool_]) -> FloatArray:
        if self.armed:
            up, down = self.UP
            return np.where(above, up, down)
        share = self.alarm_share
        up, down = math.log(share / TAIL_P0), math.log((1.0 - share) / (1.0 - TAIL_P0))
        return -np.where(above, up, down)

    def feed(self, logs: FloatArray, first_index: int) -> list[tuple[int, float, bool]]:
        """Feed log durations; per crossing: (index, exceedance share of the crossing run,
        whether it was an alarm: False for a recovery)."""
        smoothed, _ = signal.lfilter(
            [TAIL_EWMA], [1.0, TAIL_EWMA - 1.0], logs, zi=[(1.0 - TAIL_EWMA) * self.centre]
        )
        before = np.concatenate([[self.centre], smoothed[:-1]])
        above = logs - before > self.offset
        self.centre = float(smoothed[-1]) if logs.size else self.centre
        alerts: list[tuple[int, float, bool]] = []
        start = 0
        while start < logs.size:
            part = above[start:]
            statistic = lindley(self._steps(part), self.upper)
            crossed = statistic > self.h
            end = int(np.argmax(crossed)) if crossed.any() else part.size - 1
            runs = run_lengths(statistic[: end + 1], self.run)
            hits = np.cumsum(part[: end + 1])
            last_zero = end - int(runs[end])  # position of the last 0 (-1: before the batch)
            carried = self.hits if last_zero < 0 else 0
            self.hits = carried + int(hits[end] - (hits[last_zero] if last_zero >= 0 else 0))
            self.run = int(runs[end])
            self.upper = float(statistic[end])
            if crossed.any():
                share = self.hits / max(self.run, 1)
                alerts.append((first_index + start + end, share, self.armed))
                self.alarm_share = recovery_share(share, self.run) if self.armed else TAIL_P1
                self.armed = not self.armed
                self.upper, self.run, self.hits = 0.0, 0, 0
            start += end + 1
        return alerts

    def estimated_ratio(self, share: float) -> float:
        """The p95 ratio a location shift would need to push ``share`` of spans above the
        baseline's p95 (log-normal approximation; a spread regression moves p95 further)."""
        share = min(max(share, 1e-6), 1.0 - 1e-6)
        z0, z1 = float(special.ndtri(TAIL_QUANTILE)), float(special.ndtri(1.0 - share))
        return math.exp(self.sigma * (z0 - z1))

    def state(self) -> dict[str, float]:
        return {
            "tail_log_p95": self.log_p95,
            "tail_centre": self.centre,
            "tail_upper": self.upper,
            "tail_run": float(self.run),
            "tail_hits": float(self.hits),
            "tail_armed": 1.0 if self.armed else 0.0,
            "tail_holds": 1.0 if self.holds else 0.0,
            "tail_alarm_share": self.alarm_share,
        }
