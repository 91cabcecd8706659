"""AWS-side time, optionally compressed.

A time scale of 60 makes every AWS-side period (alarm periods, cooldowns, target tracking's
scale-in evaluation, request TTLs) pass 60 times faster; the containers' own work (startup,
/ping, inference) is never scaled. Reports carry the factor and the equivalent AWS seconds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Clock:
    scale: float = 1.0

    def real(self, aws_seconds: float) -> float:
        """Real seconds that stand for `aws_seconds` of AWS-side time."""
        return aws_seconds / self.scale

    def aws(self, real_seconds: float) -> float:
        return real_seconds * self.scale
