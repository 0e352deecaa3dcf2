//! ResourceQuota: removing a quota frees nothing (the quota itself is not counted).

use registry::ResourceType;

pub struct ResourceQuota;

impl super::KindHooks for ResourceQuota {
    fn releases_quota(&self, _rt: &ResourceType) -> bool {
        false
    }
}
