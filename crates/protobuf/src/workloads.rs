//! Workload kinds kubectl creates with its typed client: `apps/v1` Deployment and `batch/v1` Job
//! and CronJob. Field numbers are those of k8s.io/api `apps/v1/generated.proto` and
//! `batch/v1/generated.proto`.

use prost::Message;
use serde_json::Value;

use crate::core::ObjectReference;
use crate::json::{Obj, ToJson};
use crate::meta::{time_json, LabelSelector, ObjectMeta, Time};
use crate::pod::PodTemplateSpec;
use crate::values::IntOrString;

/// `apps.v1.Deployment`.
#[derive(Clone, PartialEq, Message)]
pub struct Deployment {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<DeploymentSpec>,
    #[prost(message, optional, tag = "3")]
    pub status: Option<DeploymentStatus>,
}

impl ToJson for Deployment {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("spec", &self.spec).msg("status", &self.status).build()
    }
}

/// `apps.v1.DeploymentSpec`.
#[derive(Clone, PartialEq, Message)]
pub struct DeploymentSpec {
    #[prost(int32, optional, tag = "1")]
    pub replicas: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub selector: Option<LabelSelector>,
    #[prost(message, optional, tag = "3")]
    pub template: Option<PodTemplateSpec>,
    #[prost(message, optional, tag = "4")]
    pub strategy: Option<DeploymentStrategy>,
    #[prost(int32, optional, tag = "5")]
    pub min_ready_seconds: Option<i32>,
    #[prost(int32, optional, tag = "6")]
    pub revision_history_limit: Option<i32>,
    #[prost(bool, optional, tag = "7")]
    pub paused: Option<bool>,
    #[prost(int32, optional, tag = "9")]
    pub progress_deadline_seconds: Option<i32>,
}

impl ToJson for DeploymentSpec {
    fn to_json(&self) -> Value {
        Obj::new()
            .int_opt("replicas", self.replicas)
            .msg("selector", &self.selector)
            .msg("template", &self.template)
            .msg("strategy", &self.strategy)
            .int_nonzero("minReadySeconds", self.min_ready_seconds)
            .int_opt("revisionHistoryLimit", self.revision_history_limit)
            .bool_true("paused", self.paused)
            .int_opt("progressDeadlineSeconds", self.progress_deadline_seconds)
            .build()
    }
}

/// `apps.v1.DeploymentStrategy`.
#[derive(Clone, PartialEq, Message)]
pub struct DeploymentStrategy {
    #[prost(string, optional, tag = "1")]
    pub r#type: Option<String>,
    #[prost(message, optional, tag = "2")]
    pub rolling_update: Option<RollingUpdateDeployment>,
}

impl ToJson for DeploymentStrategy {
    fn to_json(&self) -> Value {
        Obj::new().str("type", &self.r#type).msg("rollingUpdate", &self.rolling_update).build()
    }
}

/// `apps.v1.RollingUpdateDeployment`.
#[derive(Clone, PartialEq, Message)]
pub struct RollingUpdateDeployment {
    #[prost(message, optional, tag = "1")]
    pub max_unavailable: Option<IntOrString>,
    #[prost(message, optional, tag = "2")]
    pub max_surge: Option<IntOrString>,
}

impl ToJson for RollingUpdateDeployment {
    fn to_json(&self) -> Value {
        Obj::new().msg("maxUnavailable", &self.max_unavailable).msg("maxSurge", &self.max_surge).build()
    }
}

/// `apps.v1.DeploymentStatus`.
#[derive(Clone, PartialEq, Message)]
pub struct DeploymentStatus {
    #[prost(int64, optional, tag = "1")]
    pub observed_generation: Option<i64>,
    #[prost(int32, optional, tag = "2")]
    pub replicas: Option<i32>,
    #[prost(int32, optional, tag = "3")]
    pub updated_replicas: Option<i32>,
    #[prost(int32, optional, tag = "4")]
    pub available_replicas: Option<i32>,
    #[prost(int32, optional, tag = "5")]
    pub unavailable_replicas: Option<i32>,
    #[prost(message, repeated, tag = "6")]
    pub conditions: Vec<DeploymentCondition>,
    #[prost(int32, optional, tag = "7")]
    pub ready_replicas: Option<i32>,
    #[prost(int32, optional, tag = "8")]
    pub collision_count: Option<i32>,
    #[prost(int32, optional, tag = "9")]
    pub terminating_replicas: Option<i32>,
}

impl ToJson for DeploymentStatus {
    fn to_json(&self) -> Value {
        Obj::new()
            .int_nonzero("observedGeneration", self.observed_generation)
            .int_nonzero("replicas", self.replicas)
            .int_nonzero("updatedReplicas", self.updated_replicas)
            .int_nonzero("readyReplicas", self.ready_replicas)
            .int_nonzero("availableReplicas", self.available_replicas)
            .int_nonzero("unavailableReplicas", self.unavailable_replicas)
            .int_opt("terminatingReplicas", self.terminating_replicas)
            .list("conditions", &self.conditions)
            .int_opt("collisionCount", self.collision_count)
            .build()
    }
}

/// `apps.v1.DeploymentCondition`.
#[derive(Clone, PartialEq, Message)]
pub struct DeploymentCondition {
    #[prost(string, optional, tag = "1")]
    pub r#type: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub status: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub reason: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub message: Option<String>,
    #[prost(message, optional, tag = "6")]
    pub last_update_time: Option<Time>,
    #[prost(message, optional, tag = "7")]
    pub last_transition_time: Option<Time>,
}

impl ToJson for DeploymentCondition {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("type", &self.r#type)
            .str("status", &self.status)
            .value("lastUpdateTime", time_json(&self.last_update_time))
            .value("lastTransitionTime", time_json(&self.last_transition_time))
            .str("reason", &self.reason)
            .str("message", &self.message)
            .build()
    }
}

/// `batch.v1.Job`.
#[derive(Clone, PartialEq, Message)]
pub struct Job {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<JobSpec>,
    #[prost(message, optional, tag = "3")]
    pub status: Option<JobStatus>,
}

impl ToJson for Job {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("spec", &self.spec).msg("status", &self.status).build()
    }
}

/// `batch.v1.JobSpec` (pod failure and success policies are skipped).
#[derive(Clone, PartialEq, Message)]
pub struct JobSpec {
    #[prost(int32, optional, tag = "1")]
    pub parallelism: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub completions: Option<i32>,
    #[prost(int64, optional, tag = "3")]
    pub active_deadline_seconds: Option<i64>,
    #[prost(message, optional, tag = "4")]
    pub selector: Option<LabelSelector>,
    #[prost(bool, optional, tag = "5")]
    pub manual_selector: Option<bool>,
    #[prost(message, optional, tag = "6")]
    pub template: Option<PodTemplateSpec>,
    #[prost(int32, optional, tag = "7")]
    pub backoff_limit: Option<i32>,
    #[prost(int32, optional, tag = "8")]
    pub ttl_seconds_after_finished: Option<i32>,
    #[prost(string, optional, tag = "9")]
    pub completion_mode: Option<String>,
    #[prost(bool, optional, tag = "10")]
    pub suspend: Option<bool>,
    #[prost(int32, optional, tag = "12")]
    pub backoff_limit_per_index: Option<i32>,
    #[prost(int32, optional, tag = "13")]
    pub max_failed_indexes: Option<i32>,
    #[prost(string, optional, tag = "14")]
    pub pod_replacement_policy: Option<String>,
    #[prost(string, optional, tag = "15")]
    pub managed_by: Option<String>,
}

impl ToJson for JobSpec {
    fn to_json(&self) -> Value {
        Obj::new()
            .int_opt("parallelism", self.parallelism)
            .int_opt("completions", self.completions)
            .int_opt("activeDeadlineSeconds", self.active_deadline_seconds)
            .int_opt("backoffLimit", self.backoff_limit)
            .int_opt("backoffLimitPerIndex", self.backoff_limit_per_index)
            .int_opt("maxFailedIndexes", self.max_failed_indexes)
            .msg("selector", &self.selector)
            .bool_opt("manualSelector", self.manual_selector)
            .msg("template", &self.template)
            .int_opt("ttlSecondsAfterFinished", self.ttl_seconds_after_finished)
            .str("completionMode", &self.completion_mode)
            .bool_opt("suspend", self.suspend)
            .str("podReplacementPolicy", &self.pod_replacement_policy)
            .str("managedBy", &self.managed_by)
            .build()
    }
}

/// `batch.v1.JobStatus` (conditions and uncounted pods are skipped: the server owns them).
#[derive(Clone, PartialEq, Message)]
pub struct JobStatus {
    #[prost(message, optional, tag = "2")]
    pub start_time: Option<Time>,
    #[prost(message, optional, tag = "3")]
    pub completion_time: Option<Time>,
    #[prost(int32, optional, tag = "4")]
    pub active: Option<i32>,
    #[prost(int32, optional, tag = "5")]
    pub succeeded: Option<i32>,
    #[prost(int32, optional, tag = "6")]
    pub failed: Option<i32>,
    #[prost(string, optional, tag = "7")]
    pub completed_indexes: Option<String>,
    #[prost(int32, optional, tag = "9")]
    pub ready: Option<i32>,
    #[prost(string, optional, tag = "10")]
    pub failed_indexes: Option<String>,
    #[prost(int32, optional, tag = "11")]
    pub terminating: Option<i32>,
}

impl ToJson for JobStatus {
    fn to_json(&self) -> Value {
        Obj::new()
            .value("startTime", time_json(&self.start_time))
            .value("completionTime", time_json(&self.completion_time))
            .int_nonzero("active", self.active)
            .int_nonzero("succeeded", self.succeeded)
            .int_nonzero("failed", self.failed)
            .int_opt("terminating", self.terminating)
            .str("completedIndexes", &self.completed_indexes)
            .str("failedIndexes", &self.failed_indexes)
            .int_opt("ready", self.ready)
            .build()
    }
}

/// `batch.v1.JobTemplateSpec`.
#[derive(Clone, PartialEq, Message)]
pub struct JobTemplateSpec {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<JobSpec>,
}

impl ToJson for JobTemplateSpec {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("spec", &self.spec).build()
    }
}

/// `batch.v1.CronJob`.
#[derive(Clone, PartialEq, Message)]
pub struct CronJob {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<CronJobSpec>,
    #[prost(message, optional, tag = "3")]
    pub status: Option<CronJobStatus>,
}

impl ToJson for CronJob {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("spec", &self.spec).msg("status", &self.status).build()
    }
}

/// `batch.v1.CronJobSpec`.
#[derive(Clone, PartialEq, Message)]
pub struct CronJobSpec {
    #[prost(string, optional, tag = "1")]
    pub schedule: Option<String>,
    #[prost(int64, optional, tag = "2")]
    pub starting_deadline_seconds: Option<i64>,
    #[prost(string, optional, tag = "3")]
    pub concurrency_policy: Option<String>,
    #[prost(bool, optional, tag = "4")]
    pub suspend: Option<bool>,
    #[prost(message, optional, tag = "5")]
    pub job_template: Option<JobTemplateSpec>,
    #[prost(int32, optional, tag = "6")]
    pub successful_jobs_history_limit: Option<i32>,
    #[prost(int32, optional, tag = "7")]
    pub failed_jobs_history_limit: Option<i32>,
    #[prost(string, optional, tag = "8")]
    pub time_zone: Option<String>,
}

impl ToJson for CronJobSpec {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("schedule", &self.schedule)
            .str("timeZone", &self.time_zone)
            .int_opt("startingDeadlineSeconds", self.starting_deadline_seconds)
            .str("concurrencyPolicy", &self.concurrency_policy)
            .bool_opt("suspend", self.suspend)
            .msg("jobTemplate", &self.job_template)
            .int_opt("successfulJobsHistoryLimit", self.successful_jobs_history_limit)
            .int_opt("failedJobsHistoryLimit", self.failed_jobs_history_limit)
            .build()
    }
}

/// `batch.v1.CronJobStatus`.
#[derive(Clone, PartialEq, Message)]
pub struct CronJobStatus {
    #[prost(message, repeated, tag = "1")]
    pub active: Vec<ObjectReference>,
    #[prost(message, optional, tag = "4")]
    pub last_schedule_time: Option<Time>,
    #[prost(message, optional, tag = "5")]
    pub last_successful_time: Option<Time>,
}

impl ToJson for CronJobStatus {
    fn to_json(&self) -> Value {
        Obj::new()
            .list("active", &self.active)
            .value("lastScheduleTime", time_json(&self.last_schedule_time))
            .value("lastSuccessfulTime", time_json(&self.last_successful_time))
            .build()
    }
}
