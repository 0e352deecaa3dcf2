//! PriorityClass: the system classes kube creates at start cannot be deleted (kube's
//! `pkg/registry/scheduling/priorityclass/storage/storage.go`).

use apimachinery::StatusError;
use registry::ResourceType;

pub struct PriorityClass;

impl super::KindHooks for PriorityClass {
    fn check_delete(&self, rt: &ResourceType, name: &str) -> Result<(), StatusError> {
        if registry::strategy::SYSTEM_PRIORITY_CLASSES.iter().any(|(n, _)| *n == name) {
            return Err(StatusError::forbidden(
                &rt.group_resource(),
                name,
                "this is a system priority class and cannot be deleted",
            ));
        }
        Ok(())
    }
}
