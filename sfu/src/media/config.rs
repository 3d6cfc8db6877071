//! The media plane's configuration: where its one UDP socket lives, what address clients
//! are told to send to, and the per-session limits.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Remote ICE candidates accepted per session. A browser gathers a handful per network
/// interface (host, server-reflexive and relay, over UDP and TCP, IPv4 and IPv6): more than
/// a dozen is rare, so 32 leaves room while bounding what a client can make us store.
pub const MAX_CANDIDATES_PER_SESSION: usize = 32;

/// Sessions (publishers plus viewers) one media task holds by default. Each session is a
/// full peer connection (ICE, DTLS, SRTP, interceptors: tens of kilobytes): 1,000 keeps the
/// task's memory in the tens of megabytes, and one core forwards to that many viewers of a
/// 2.5 Mbit/s stream.
pub const DEFAULT_MAX_SESSIONS: usize = 1000;

/// How long a session may take from offer/answer to a connected DTLS transport before it
/// is dropped. Browsers connect in well under a second on a good network and give up their
/// own ICE checks after about 30 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the media plane listens and what it promises clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// UDP address of the one socket every publisher and viewer shares. Default
    /// `127.0.0.1:0` (loopback, any free port), what `myvid dev` needs.
    pub bind: SocketAddr,
    /// IP address written into the host candidate that clients connect to. Required when
    /// `bind` is a wildcard address (`0.0.0.0`, `::`) or the server sits behind a 1:1 NAT;
    /// when `None`, the bound IP is announced.
    pub announce_ip: Option<IpAddr>,
    /// Most concurrent sessions (publishers plus viewers); more are refused.
    pub max_sessions: usize,
    /// Most remote ICE candidates accepted per session.
    pub max_candidates: usize,
    /// A session not connected this long after it was created is dropped.
    pub connect_timeout: Duration,
    /// Start a joining viewer on the stream's latest keyframe from the packet cache, when
    /// it is fresh, instead of waiting for the publisher's next one (see
    /// [`crate::forward::instant_start`]). Default true.
    pub instant_start: bool,
    /// Testing only: the share of publishers' RTP datagrams (0 ..= 50 percent) dropped
    /// on arrival, before anything reads them, as a lossy network would. The SFU asks
    /// for them again (NACK) like for any loss. Default 0.
    pub simulated_publisher_loss_percent: u8,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            announce_ip: None,
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_candidates: MAX_CANDIDATES_PER_SESSION,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            instant_start: true,
            simulated_publisher_loss_percent: 0,
        }
    }
}

/// A configuration that cannot work, with the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Nothing routable to announce.
    #[error("media.announce_ip must be set when media.bind ({0}) is a wildcard or unspecified address")]
    NoAnnounceAddress(SocketAddr),
    /// A limit of zero would refuse everything.
    #[error("media.{0} must be greater than zero")]
    Zero(&'static str),
    /// More simulated loss than any test needs.
    #[error("the simulated publisher loss must be at most 50 percent, got {0}")]
    TooMuchLoss(u8),
}

impl MediaConfig {
    /// Checks the limits (call before binding).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_sessions == 0 {
            return Err(ConfigError::Zero("max_sessions"));
        }
        if self.connect_timeout.is_zero() {
            return Err(ConfigError::Zero("connect_timeout"));
        }
        if self.simulated_publisher_loss_percent > 50 {
            return Err(ConfigError::TooMuchLoss(self.simulated_publisher_loss_percent));
        }
        if self.announce_ip.is_some_and(|ip| ip.is_unspecified()) {
            return Err(ConfigError::NoAnnounceAddress(self.bind));
        }
        Ok(())
    }

    /// The address put in the host candidate, given the socket's actual local address
    /// (which knows the port when `bind` asked for port 0).
    pub fn announce_addr(&self, local: SocketAddr) -> Result<SocketAddr, ConfigError> {
        let ip = self.announce_ip.unwrap_or(local.ip());
        if ip.is_unspecified() {
            return Err(ConfigError::NoAnnounceAddress(local));
        }
        Ok(SocketAddr::new(ip, local.port()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_bind_needs_an_announced_ip() {
        let config = MediaConfig { bind: "0.0.0.0:5000".parse().unwrap(), ..MediaConfig::default() };
        let local: SocketAddr = "0.0.0.0:5000".parse().unwrap();
        assert_eq!(config.announce_addr(local), Err(ConfigError::NoAnnounceAddress(local)));
        let config = MediaConfig { announce_ip: Some("203.0.113.7".parse().unwrap()), ..config };
        assert_eq!(config.announce_addr(local).unwrap(), "203.0.113.7:5000".parse::<SocketAddr>().unwrap());
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn defaults_are_valid_and_zero_limits_are_not() {
        let config = MediaConfig::default();
        assert_eq!(config.validate(), Ok(()));
        let local: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        assert_eq!(config.announce_addr(local).unwrap(), local);
        let zero = MediaConfig { max_sessions: 0, ..MediaConfig::default() };
        assert_eq!(zero.validate(), Err(ConfigError::Zero("max_sessions")));
    }
}
