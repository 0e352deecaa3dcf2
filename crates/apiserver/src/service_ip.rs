//! The Service cluster IP range (`--service-cluster-ip-range`): where Services get their
//! ClusterIP, and the first address of it, which the `kubernetes` Service takes (as kube's
//! bootstrap controller does).

use std::net::Ipv4Addr;

/// kubeadm's default range (kube-apiserver has none of its own worth copying).
pub const DEFAULT_SERVICE_CLUSTER_IP_RANGE: &str = "10.96.0.0/12";

/// An IPv4 CIDR with room for Services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceIpRange {
    network: u32,
    prefix: u8,
}

impl ServiceIpRange {
    /// Parses `a.b.c.d/n`; the range must hold at least 8 addresses (/29) and at most /8,
    /// as kube limits service ranges.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("--service-cluster-ip-range `{text}`: {why}");
        let (ip, bits) = text.split_once('/').ok_or_else(|| bad("not a CIDR (address/prefix)"))?;
        if ip.contains(':') {
            return Err(bad("IPv6 service ranges are not supported yet; give an IPv4 CIDR"));
        }
        let ip: Ipv4Addr = ip.parse().map_err(|_| bad("not an IPv4 address"))?;
        let prefix: u8 = bits.parse().map_err(|_| bad("the prefix length is not a number"))?;
        if !(8..=29).contains(&prefix) {
            return Err(bad("the prefix length must be between 8 and 29"));
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(Self { network: u32::from(ip) & mask, prefix })
    }

    fn size(&self) -> u32 {
        1u32 << (32 - self.prefix)
    }

    /// The address the `kubernetes` Service takes: the first after the network address.
    pub fn first(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network + 1)
    }

    /// The `n`-th address handed to other Services, wrapping inside the range (the network
    /// address, the first address and the broadcast address are never handed out).
    pub fn nth_for_services(&self, n: u32) -> Ipv4Addr {
        let usable = self.size() - 3;
        Ipv4Addr::from(self.network + 2 + n % usable)
    }

    /// How many addresses other Services can get.
    pub fn capacity(&self) -> u32 {
        self.size() - 3
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip).wrapping_sub(self.network) < self.size()
    }
}

impl std::fmt::Display for ServiceIpRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.network), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_hand_out_addresses_inside_and_keep_the_first_for_kubernetes() {
        let r = ServiceIpRange::parse(DEFAULT_SERVICE_CLUSTER_IP_RANGE).unwrap();
        assert_eq!(r.first(), Ipv4Addr::new(10, 96, 0, 1));
        assert_eq!(r.nth_for_services(0), Ipv4Addr::new(10, 96, 0, 2));
        assert_eq!(r.capacity(), (1 << 20) - 3);
        assert_eq!(r.nth_for_services(r.capacity()), Ipv4Addr::new(10, 96, 0, 2));
        assert!(r.contains(Ipv4Addr::new(10, 111, 255, 255)) && !r.contains(Ipv4Addr::new(10, 112, 0, 0)));
        let small = ServiceIpRange::parse("192.168.7.9/29").unwrap();
        assert_eq!(small.to_string(), "192.168.7.8/29");
        let all: Vec<_> = (0..small.capacity()).map(|n| small.nth_for_services(n)).collect();
        assert_eq!(all.first(), Some(&Ipv4Addr::new(192, 168, 7, 10)));
        assert_eq!(all.last(), Some(&Ipv4Addr::new(192, 168, 7, 14)));
        for bad in ["10.0.0.0", "10.0.0.0/30", "10.0.0.0/7", "fd00::/108", "x/12", "10.0.0.0/x"] {
            assert!(ServiceIpRange::parse(bad).is_err(), "{bad}");
        }
    }
}
