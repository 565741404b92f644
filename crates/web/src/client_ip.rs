//! Who the client is, for the login limits: the TCP peer, unless the peer is a configured trusted
//! proxy (the TLS terminator), in which case the right-most address of the configured header
//! (`X-Forwarded-For`) that is not itself a trusted proxy. A client cannot choose its address by
//! sending the header: from an untrusted peer it is ignored, and what a client writes on the left
//! of the list is never reached while the proxy appends the address it saw on the right.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// An address or a network (`10.0.0.0/8`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Option<IpNet> {
        let (a, p) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(IpNet {
            addr: addr.to_canonical(),
            prefix,
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Where the client address comes from (`taizhang serve --trusted-proxy … --client-ip-header …`).
#[derive(Debug, Clone, Default)]
pub struct ClientIpSource {
    trusted: Vec<IpNet>,
    header: Option<HeaderName>,
}

impl ClientIpSource {
    /// Trusted proxies (addresses or networks) and the header they name the client in
    /// (`X-Forwarded-For` when proxies are given without one). A header without a trusted proxy
    /// is refused: it would be ignored.
    pub fn new(trusted: &[String], header: Option<&str>) -> Result<ClientIpSource, String> {
        let nets = trusted
            .iter()
            .flat_map(|t| t.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| IpNet::parse(t).ok_or_else(|| format!("不是IP地址或网段：{t}")))
            .collect::<Result<Vec<_>, _>>()?;
        let header = match (
            header.map(str::trim).filter(|h| !h.is_empty()),
            nets.is_empty(),
        ) {
            (None, true) => None,
            (Some(h), true) => {
                return Err(format!(
                    "指定了客户端地址头 {h}，但未指定可信代理（--trusted-proxy）"
                ))
            }
            (h, false) => Some(
                HeaderName::try_from(h.unwrap_or("x-forwarded-for"))
                    .map_err(|_| "客户端地址头的名称无效".to_string())?,
            ),
        };
        Ok(ClientIpSource {
            trusted: nets,
            header,
        })
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(ip))
    }

    /// The client's address for a request from `peer` with these headers.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        let Some(header) = &self.header else {
            return peer;
        };
        if !self.is_trusted(peer) {
            return peer;
        }
        let mut hops: Vec<&str> = Vec::new();
        for v in headers.get_all(header) {
            let Ok(text) = v.to_str() else { return peer };
            hops.extend(text.split(','));
        }
        // From the right: the nearest hop that is not one of our proxies is the client.
        let mut nearest = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                return nearest;
            };
            if !self.is_trusted(ip) {
                return ip;
            }
            nearest = ip;
        }
        nearest
    }
}

/// One entry of a forwarding header: an address, perhaps with a port or in brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
        .map(|ip: IpAddr| ip.to_canonical())
}

/// The caller's address as the login limits see it.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<crate::AppState> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(ClientIp(state.client_ip.client_ip(peer, &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let src = ClientIpSource::new(&["127.0.0.1".into(), "10.0.0.0/8".into()], None).unwrap();
        let peer = ip("127.0.0.1");
        // The client wrote a fake address on the left; the proxies appended what they saw.
        let h = headers(&["6.6.6.6, 203.0.113.5, 10.1.2.3"]);
        assert_eq!(src.client_ip(peer, &h), ip("203.0.113.5"));
        let h = headers(&["6.6.6.6", "203.0.113.5:4711"]);
        assert_eq!(src.client_ip(peer, &h), ip("203.0.113.5"));
        assert_eq!(
            src.client_ip(peer, &headers(&["[2001:db8::1]"])),
            ip("2001:db8::1")
        );
        // No header, or only proxies: the nearest trusted hop.
        assert_eq!(src.client_ip(peer, &HeaderMap::new()), peer);
        assert_eq!(src.client_ip(peer, &headers(&["10.0.0.9"])), ip("10.0.0.9"));
        // Garbage on the right: not believed past it.
        assert_eq!(
            src.client_ip(peer, &headers(&["203.0.113.5, nonsense"])),
            peer
        );
        // From a peer that is not a proxy, the header is ignored.
        let stranger = ip("192.0.2.1");
        assert_eq!(
            src.client_ip(stranger, &headers(&["203.0.113.5"])),
            stranger
        );
        // Mapped IPv4 peers count as IPv4.
        assert_eq!(
            src.client_ip(ip("::ffff:127.0.0.1"), &headers(&["203.0.113.7"])),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn settings_are_checked() {
        assert!(ClientIpSource::new(&[], Some("X-Forwarded-For")).is_err());
        assert!(ClientIpSource::new(&["not-an-ip".into()], None).is_err());
        assert!(ClientIpSource::new(&["10.0.0.0/33".into()], None).is_err());
        let none = ClientIpSource::new(&[], None).unwrap();
        assert_eq!(
            none.client_ip(ip("127.0.0.1"), &headers(&["203.0.113.5"])),
            ip("127.0.0.1")
        );
        let n = IpNet::parse("192.168.0.0/16").unwrap();
        assert!(n.contains(ip("192.168.44.1")) && !n.contains(ip("192.169.0.1")));
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
    }
}
