"""Risk monitoring in CloudWatch: the daily monitor's schedule, flag alarms, platform-figure alarms,
composite alarms, one SNS topic per severity and the risk dashboard.

Rule ids and features change with a policy, without a deploy, so no alarm names one: the monitor
publishes ``MonitorFlags`` per family x severity (lendguard.monitoring.publish) and the alarms
watch those. The platform figures are fixed: per-vendor error, empty-answer and spend per
application, and decision p95 latency (lendguard.decision.case_metrics).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.settings import RiskAlarms as Thresholds
from lendguard import deployment
from lendguard.monitoring.evaluate import FAMILIES
from lendguard.monitoring.publish import FLAG_METRIC, SEVERITIES

NAMESPACE = "LendGuard"
SERVICE = "lendguard"  # POWERTOOLS_SERVICE_NAME: Powertools adds it to every metric's dimensions
FLAG_PERIOD = Duration.days(1)


def flag_metric(family: str, severity: str) -> cloudwatch.Metric:
    """The monitor's count of flagged figures of one family and severity (one value a day)."""
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=FLAG_METRIC,
        statistic="Maximum",
        period=FLAG_PERIOD,
        dimensions_map={"service": SERVICE, "family": family, "severity": severity},
    )


def vendor_metric(name: str, vendor: str, statistic: str, period: Duration) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        statistic=statistic,
        period=period,
        dimensions_map={"service": SERVICE, "vendor": vendor},
    )


class RiskAlarms(Construct):
    """``topics`` by severity, ``alarms`` by name, ``composites`` by severity, ``schedule``, ``dashboard``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        monitor_function: lambda_.IFunction,
        thresholds: Thresholds,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        key = kms.Key(
            self,
            "TopicKey",
            description=f"lendguard {env_name} risk alarm topics",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        self.topics = {
            severity: sns.Topic(
                self,
                f"{severity.title()}Topic",
                display_name=f"lendguard {env_name} risk {severity}",
                master_key=key,
                enforce_ssl=True,
            )
            for severity in SEVERITIES
        }
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        def alarm(
            name: str,
            metric: cloudwatch.IMetric,
            threshold: float,
            description: str,
            comparison: cloudwatch.ComparisonOperator,
        ) -> cloudwatch.Alarm:
            # no actions of its own: the composites page, once per severity
            created = cloudwatch.Alarm(
                self,
                f"{name}Alarm",
                alarm_name=f"lendguard-{env_name}-{name}",
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                comparison_operator=comparison,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            self.alarms[name] = created
            return created

        at_least = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        by_severity: dict[str, list[cloudwatch.IAlarm]] = {s: [] for s in SEVERITIES}
        for family in FAMILIES:
            for severity in SEVERITIES:
                by_severity[severity].append(
                    alarm(
                        f"risk-{family}-{severity}",
                        flag_metric(family, severity),
                        1,
                        f"The daily monitor flagged {family} figures at {severity}: see its report.",
                        at_least,
                    )
                )
        period = Duration.minutes(thresholds.period_minutes)
        for vendor in thresholds.vendors:
            by_severity["alarm"].append(
                alarm(
                    f"vendor-{vendor}-error-rate",
                    vendor_metric("VendorError", vendor, "Average", period),
                    thresholds.vendor_error_rate,
                    f"{vendor}: share of calls failing",
                    above,
                )
            )
            by_severity["warn"].append(
                alarm(
                    f"vendor-{vendor}-empty-rate",
                    vendor_metric("VendorEmpty", vendor, "Average", period),
                    thresholds.vendor_empty_rate,
                    f"{vendor}: share of answers carrying no fact",
                    above,
                )
            )
            applications = cloudwatch.Metric(
                namespace=NAMESPACE,
                metric_name="EndToEndLatency",
                statistic="SampleCount",
                period=period,
                dimensions_map={"service": SERVICE},
            )
            spend = cloudwatch.MathExpression(
                expression="spend / MAX([apps, 1])",
                period=period,
                label=f"{vendor} spend per application",
                using_metrics={
                    "spend": vendor_metric("VendorSpend", vendor, "Sum", period),
                    "apps": applications,
                },
            )
            by_severity["warn"].append(
                alarm(
                    f"vendor-{vendor}-spend-per-application",
                    spend,
                    thresholds.vendor_spend_per_application,
                    f"{vendor}: spend per application above budget",
                    above,
                )
            )
        latency = cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name="EndToEndLatency",
            statistic="p95",
            period=period,
            dimensions_map={"service": SERVICE},
        )
        by_severity["alarm"].append(
            alarm(
                "decision-p95-latency",
                latency,
                thresholds.decision_p95_ms,
                "Decision p95 latency (ms)",
                above,
            )
        )
        # One page per severity; warn stays quiet while the alarm composite is already firing.
        self.composites: dict[str, cloudwatch.CompositeAlarm] = {}
        alarm_rule = cloudwatch.AlarmRule.any_of(
            *(cloudwatch.AlarmRule.from_alarm(a, cloudwatch.AlarmState.ALARM) for a in by_severity["alarm"])
        )
        self.composites["alarm"] = cloudwatch.CompositeAlarm(
            self,
            "RiskAlarmComposite",
            composite_alarm_name=f"lendguard-{env_name}-risk-alarm",
            alarm_rule=alarm_rule,
        )
        warn_rule = cloudwatch.AlarmRule.all_of(
            cloudwatch.AlarmRule.any_of(
                *(
                    cloudwatch.AlarmRule.from_alarm(a, cloudwatch.AlarmState.ALARM)
                    for a in by_severity["warn"]
                )
            ),
            cloudwatch.AlarmRule.not_(
                cloudwatch.AlarmRule.from_alarm(self.composites["alarm"], cloudwatch.AlarmState.ALARM)
            ),
        )
        self.composites["warn"] = cloudwatch.CompositeAlarm(
            self,
            "RiskWarnComposite",
            composite_alarm_name=f"lendguard-{env_name}-risk-warn",
            alarm_rule=warn_rule,
        )
        for severity, composite in self.composites.items():
            composite.add_alarm_action(cw_actions.SnsAction(self.topics[severity]))

        # The daily run, 00:15 Asia/Shanghai: yesterday (a Shanghai day) is complete by then.
        role = iam.Role(self, "SchedulerRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
        # exactly the function (grant_invoke would add ``:*`` for its versions: cdk-nag IAM5)
        role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[monitor_function.function_arn])
        )
        self.schedule = scheduler.CfnSchedule(
            self,
            "MonitorSchedule",
            name=f"lendguard-{env_name}-daily-monitor",
            schedule_expression=deployment.MONITOR_SCHEDULE,
            schedule_expression_timezone=deployment.MONITOR_SCHEDULE_TIMEZONE,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=monitor_function.function_arn,
                role_arn=role.role_arn,
                input="{}",
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=2),
            ),
        )

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"lendguard-{env_name}-risk", default_interval=Duration.days(14)
        )
        self.dashboard.add_widgets(
            *(
                cloudwatch.GraphWidget(
                    title=f"{family.title()} flags",
                    width=4,
                    left=[flag_metric(family, s).with_(label=s) for s in SEVERITIES],
                )
                for family in FAMILIES
            )
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Vendor error rate",
                width=8,
                left=[
                    vendor_metric("VendorError", v, "Average", period).with_(label=v)
                    for v in thresholds.vendors
                ],
            ),
            cloudwatch.GraphWidget(
                title="Vendor empty-answer rate",
                width=8,
                left=[
                    vendor_metric("VendorEmpty", v, "Average", period).with_(label=v)
                    for v in thresholds.vendors
                ],
            ),
            cloudwatch.GraphWidget(title="Decision latency p95 (ms)", width=8, left=[latency]),
        )
