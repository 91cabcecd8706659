"""Backlog metrics and the scaling policies phase 8 wrote, evaluated as AWS documents them.

Every AWS minute (60 s / time scale) each endpoint's async metrics are published to the
emulated CloudWatch (namespace AWS/SageMaker, dimension EndpointName):

* ApproximateBacklogSize: requests queued or being processed;
* ApproximateBacklogSizePerInstance: the same over the current instance count — not published
  while the count is 0 (nothing to divide by), so target tracking alone never leaves zero;
* HasBacklogWithoutCapacity: 1 when there is a backlog and no instance, else 0;
* ApproximateAgeOfOldestRequest: seconds (real) since the oldest request arrived.

Then, for the variant's scalable target (ResourceId endpoint/NAME/variant/VARIANT):

* every CloudWatch alarm on these metrics is evaluated (Period, EvaluationPeriods,
  DatapointsToAlarm, Statistic, ComparisonOperator, Threshold, TreatMissingData), its state is
  set in CloudWatch, and while it is in ALARM each step-scaling policy among its AlarmActions
  runs (StepAdjustments relative to the threshold; ChangeInCapacity, ExactCapacity,
  PercentChangeInCapacity; Cooldown) — an alarm that stays in ALARM keeps invoking its policy,
  as Application Auto Scaling does, limited only by the cooldown;
* target tracking is run as the two alarms Application Auto Scaling creates for it: scale out
  when the metric is above the target for 3 consecutive minutes, scale in when it is below 90 %
  of the target for 15 consecutive minutes; the new capacity is ceil(current × metric / target),
  bounded by the target's min/max, after ScaleOutCooldown / ScaleInCooldown.

Each change is a scaling activity (DescribeScalingActivities answers with them).
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from datetime import datetime, timezone
from typing import Any

from .clock import Clock

NAMESPACE = "AWS/SageMaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
HISTORY = 120  # minutes of datapoints kept per metric
TT_HIGH_POINTS, TT_LOW_POINTS, TT_LOW_FACTOR = 3, 15, 0.9

_activities_lock = threading.Lock()
# (account, region) → list of activity dicts, newest first; read by the DescribeScalingActivities patch.
ACTIVITIES: dict[tuple[str, str], list[dict[str, Any]]] = {}


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


class Autoscaler:
    def __init__(self, plane: Any, clock: Clock):
        self.plane = plane
        self.clock = clock
        self.period = clock.real(60)

    def start(self) -> None:
        threading.Thread(target=self._loop, daemon=True, name="autoscaler").start()

    def _loop(self) -> None:
        next_tick = time.monotonic() + self.period
        while not self.plane._stopping.is_set():
            time.sleep(max(0.0, next_tick - time.monotonic()))
            next_tick += self.period
            with self.plane.lock:
                for ep in list(self.plane.endpoints.values()):
                    try:
                        self.tick(ep)
                    except Exception as exc:  # one endpoint's bad policy must not stop the others
                        from .data_plane import _log

                        _log(f"autoscaling of {ep.name} failed this minute: {type(exc).__name__}: {exc}")

    # ------------------------------------------------------------------ state per endpoint
    def _st(self, ep: Any) -> dict[str, Any]:
        st = ep.scaling
        if not st:
            st.update(history={}, alarms={}, last_out=None, last_in=None, last_step=None, minutes=0)
        return st

    def after_reconcile(self, ep: Any) -> None:
        """Close scaling activities once the fleet reached its desired count (lock held)."""
        if ep.fleet is None:
            return
        current = len(ep.fleet.healthy())
        for act in ACTIVITIES.get((ep.account, ep.region), []):
            if act["_endpoint"] == ep.name and act["StatusCode"] == "InProgress" and current == act["_target"]:
                act["StatusCode"], act["EndTime"] = "Successful", _utc(time.time())
                act["StatusMessage"] = f"Successfully set desired instance count to {current}. Change successfully fulfilled by sagemaker."

    # ------------------------------------------------------------------ one AWS minute
    def tick(self, ep: Any) -> None:
        obj = ep.endpoint_object()
        if obj is None or ep.fleet is None or obj.endpoint_status != "InService":
            return
        st = self._st(ep)
        st["minutes"] += 1
        instances = len(ep.fleet.healthy())
        backlog = ep.backlog()
        values: dict[str, float | None] = {
            "ApproximateBacklogSize": float(backlog),
            "ApproximateBacklogSizePerInstance": (backlog / instances) if instances else None,
            "HasBacklogWithoutCapacity": 1.0 if backlog > 0 and instances == 0 else 0.0,
            "ApproximateAgeOfOldestRequest": round(ep.oldest_age(), 3),
        }
        self._publish(ep, values)
        for name, value in values.items():
            st["history"].setdefault(name, deque(maxlen=HISTORY)).append(value)
        target = self._scalable_target(ep)
        if target is None:
            return
        self._run_alarms(ep, st, target)
        self._run_target_tracking(ep, st, target)

    def _publish(self, ep: Any, values: dict[str, float | None]) -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        now = None  # moto stamps it with its own (naive UTC) clock, as its HTTP path does
        data = [
            {"MetricName": name, "Dimensions": [{"Name": "EndpointName", "Value": ep.name}], "Value": value, "Timestamp": now, "Unit": "Seconds" if "Age" in name else "Count"}
            for name, value in values.items()
            if value is not None
        ]
        cloudwatch_backends[ep.account][ep.region].put_metric_data(NAMESPACE, data)

    def _resource_id(self, ep: Any) -> str:
        return f"endpoint/{ep.name}/variant/{ep.fleet.variant}"

    def _scalable_target(self, ep: Any) -> Any:
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        aas = applicationautoscaling_backends[ep.account][ep.region]
        found = aas.describe_scalable_targets("sagemaker", [self._resource_id(ep)], DIMENSION)
        return found[0] if found else None

    def _policies(self, ep: Any) -> list[Any]:
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        aas = applicationautoscaling_backends[ep.account][ep.region]
        rid = self._resource_id(ep)
        return [p for p in aas.policies.values() if p.service_namespace == "sagemaker" and p.resource_id == rid and p.scalable_dimension == DIMENSION]

    # ------------------------------------------------------------------ CloudWatch alarms + step scaling
    def _series(self, st: dict[str, Any], metric: str, period_s: float, statistic: str) -> list[float | None]:
        """One aggregated datapoint per alarm period (newest last); None where nothing was published."""
        raw = list(st["history"].get(metric, []))
        per = max(1, int(round(period_s / 60)))
        out: list[float | None] = []
        for end in range(len(raw), 0, -per):
            chunk = [v for v in raw[max(0, end - per):end] if v is not None]
            if not chunk:
                out.append(None)
            elif statistic == "Maximum":
                out.append(max(chunk))
            elif statistic == "Minimum":
                out.append(min(chunk))
            elif statistic == "Sum":
                out.append(sum(chunk))
            elif statistic == "SampleCount":
                out.append(float(len(chunk)))
            else:
                out.append(sum(chunk) / len(chunk))
        out.reverse()
        return out

    @staticmethod
    def _breaches(value: float, op: str, threshold: float) -> bool:
        return {
            "GreaterThanOrEqualToThreshold": value >= threshold,
            "GreaterThanThreshold": value > threshold,
            "LessThanThreshold": value < threshold,
            "LessThanOrEqualToThreshold": value <= threshold,
        }.get(op, False)

    def _run_alarms(self, ep: Any, st: dict[str, Any], target: Any) -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        cw = cloudwatch_backends[ep.account][ep.region]
        step_policies = {p.policy_arn: p for p in self._policies(ep) if p.policy_type == "StepScaling"}
        for alarm in list(cw.alarms.values()):
            dims = {d.name: d.value for d in alarm.dimensions}
            if alarm.namespace != NAMESPACE or dims.get("EndpointName") != ep.name:
                continue
            n = int(alarm.evaluation_periods or 1)
            m = int(alarm.datapoints_to_alarm or n)
            series = self._series(st, alarm.metric_name, float(alarm.period or 60), alarm.statistic or "Average")[-n:]
            missing = (alarm.treat_missing_data or "missing").lower()
            verdicts = []
            for v in series:
                if v is None:
                    verdicts.append({"breaching": True, "notBreaching": False}.get(missing))
                else:
                    verdicts.append(self._breaches(v, alarm.comparison_operator, float(alarm.threshold)))
            breaching = sum(1 for v in verdicts if v is True)
            fine = sum(1 for v in verdicts if v is False)
            if breaching >= m:
                state = "ALARM"
            elif len(series) >= n and fine > n - m:
                state = "OK"
            elif len(series) < n and alarm.state_value == "OK":
                state = "OK"
            else:
                state = alarm.state_value if len(series) >= n else "INSUFFICIENT_DATA"
            if state != alarm.state_value:
                latest = next((v for v in reversed(series) if v is not None), None)
                reason = f"Threshold Crossed: {breaching} out of the last {n} datapoints [{', '.join('-' if v is None else f'{v:g}' for v in series)}] were {alarm.comparison_operator} the threshold ({float(alarm.threshold):g})."
                alarm.update_state(reason, '{"version":"1.0"}', state)
                st["alarms"][alarm.name] = {"state": state, "at": time.time(), "latest": latest}
                if state == "ALARM" and ep.open_cold_start is not None and "alarm" not in ep.open_cold_start:
                    ep.open_cold_start["alarm"] = time.time()
            if state != "ALARM" or not alarm.actions_enabled:
                continue
            latest = next((v for v in reversed(series) if v is not None), float(alarm.threshold))
            for action in alarm.alarm_actions or []:
                policy = step_policies.get(action)
                if policy is not None:
                    self._run_step(ep, st, target, policy, alarm, latest)

    def _run_step(self, ep: Any, st: dict[str, Any], target: Any, policy: Any, alarm: Any, value: float) -> None:
        cfg = policy.step_scaling_policy_configuration or {}
        breach = value - float(alarm.threshold)
        adjustment = None
        for step in cfg.get("StepAdjustments", []):
            low = step.get("MetricIntervalLowerBound")
            high = step.get("MetricIntervalUpperBound")
            if (low is None or breach >= float(low)) and (high is None or breach < float(high)):
                adjustment = int(step["ScalingAdjustment"])
                break
        if adjustment is None:
            return
        current = ep.fleet.desired
        kind = cfg.get("AdjustmentType", "ChangeInCapacity")
        if kind == "ExactCapacity":
            new = adjustment
        elif kind == "PercentChangeInCapacity":
            delta = current * adjustment / 100.0
            delta = math.ceil(delta) if delta > 0 else math.floor(delta)
            minimum = int(cfg.get("MinAdjustmentMagnitude") or 0)
            if minimum and abs(delta) < minimum:
                delta = minimum if delta >= 0 else -minimum
            new = current + int(delta)
        else:
            new = current + adjustment
        new = self._bounded(target, new)
        cooldown = self.clock.real(float(cfg.get("Cooldown") or 0))
        last = st.get("last_step")
        # During the cooldown a scale-out happens only if it is larger than the last one.
        if last is not None and time.time() - last["at"] < cooldown and new <= last["to"]:
            return
        if new == current:
            return
        st["last_step"] = {"at": time.time(), "to": new}
        self._scale(ep, st, target, new, f"monitor alarm {alarm.name} in state ALARM triggered policy {policy.policy_name}")

    # ------------------------------------------------------------------ target tracking
    def _run_target_tracking(self, ep: Any, st: dict[str, Any], target: Any) -> None:
        for policy in self._policies(ep):
            if policy.policy_type != "TargetTrackingScaling":
                continue
            cfg = policy.target_tracking_scaling_policy_configuration or {}
            spec = cfg.get("CustomizedMetricSpecification") or {}
            metric = spec.get("MetricName")
            if not metric or (spec.get("Namespace") or NAMESPACE) != NAMESPACE:
                continue  # predefined SageMakerVariantInvocationsPerInstance: real-time endpoints only
            goal = float(cfg.get("TargetValue") or 0)
            if goal <= 0:
                continue
            series = self._series(st, metric, 60, spec.get("Statistic") or "Average")
            current = ep.fleet.desired
            now = time.time()
            high = series[-TT_HIGH_POINTS:]
            if len(high) == TT_HIGH_POINTS and all(v is not None and v > goal for v in high):
                latest = float(high[-1])  # type: ignore[arg-type]
                new = self._bounded(target, math.ceil(current * latest / goal))
                last_out = st.get("last_out")
                if new > current and (last_out is None or now - last_out >= self.clock.real(float(cfg.get("ScaleOutCooldown") or 0))):
                    st["last_out"] = now
                    self._scale(ep, st, target, new, f"monitor alarm TargetTracking-{self._resource_id(ep)}-AlarmHigh in state ALARM triggered policy {policy.policy_name}")
                continue
            low = series[-TT_LOW_POINTS:]
            if cfg.get("DisableScaleIn") or len(low) < TT_LOW_POINTS or not all(v is not None and v < goal * TT_LOW_FACTOR for v in low):
                continue
            latest = float(low[-1])  # type: ignore[arg-type]
            new = self._bounded(target, math.ceil(current * latest / goal))
            since = max(x for x in (st.get("last_in"), st.get("last_out"), (st.get("last_step") or {}).get("at"), 0.0) if x is not None)
            if new < current and now - since >= self.clock.real(float(cfg.get("ScaleInCooldown") or 0)):
                st["last_in"] = now
                self._scale(ep, st, target, new, f"monitor alarm TargetTracking-{self._resource_id(ep)}-AlarmLow in state ALARM triggered policy {policy.policy_name}")

    # ------------------------------------------------------------------ capacity changes
    @staticmethod
    def _bounded(target: Any, value: int) -> int:
        low = int(target.min_capacity or 0)
        high = int(target.max_capacity if target.max_capacity is not None else value)
        return max(low, min(high, value))

    def _scale(self, ep: Any, st: dict[str, Any], target: Any, new: int, cause: str) -> None:
        old = ep.fleet.desired
        if target.suspended_state and (
            (new > old and target.suspended_state.get("DynamicScalingOutSuspended"))
            or (new < old and target.suspended_state.get("DynamicScalingInSuspended"))
        ):
            return
        now = time.time()
        activity = {
            "ActivityId": str(uuid.uuid4()),
            "ServiceNamespace": "sagemaker",
            "ResourceId": self._resource_id(ep),
            "ScalableDimension": DIMENSION,
            "Description": f"Setting desired instance count to {new}.",
            "Cause": cause,
            "StartTime": _utc(now),
            "StatusCode": "InProgress",
            "StatusMessage": f"Changing desired instance count from {old} to {new}.",
            "Details": f'{{"timeScale": {self.clock.scale}}}',
            "_endpoint": ep.name,
            "_target": new,
        }
        with _activities_lock:
            ACTIVITIES.setdefault((ep.account, ep.region), []).insert(0, activity)
        if old == 0 and new > 0 and ep.open_cold_start is not None and "scaleOut" not in ep.open_cold_start:
            ep.open_cold_start["scaleOut"] = now
            ep.open_cold_start.setdefault("alarm", now)
        from .data_plane import _log

        _log(f"endpoint {ep.name}: desired instance count {old} -> {new} ({cause})")
        self.plane.set_desired(ep, new)

    def view(self, ep: Any) -> dict[str, Any]:
        st = self._st(ep)
        return {
            "minutesEvaluated": st["minutes"],
            "alarms": st["alarms"],
            "metrics": {k: list(v)[-20:] for k, v in st["history"].items()},
            "activities": [
                {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in a.items() if not k.startswith("_")}
                for a in ACTIVITIES.get((ep.account, ep.region), [])
                if a["_endpoint"] == ep.name
            ],
        }


def describe_scaling_activities(account: str, region: str, namespace: str, resource_id: str | None, dimension: str | None) -> list[dict[str, Any]]:
    with _activities_lock:
        acts = list(ACTIVITIES.get((account, region), []))
    return [
        {k: (v.timestamp() if isinstance(v, datetime) else v) for k, v in a.items() if not k.startswith("_")}
        for a in acts
        if a["ServiceNamespace"] == namespace
        and (not resource_id or a["ResourceId"] == resource_id)
        and (not dimension or a["ScalableDimension"] == dimension)
    ]
