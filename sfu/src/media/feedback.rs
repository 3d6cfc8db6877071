//! Lets viewers' keyframe requests, bandwidth estimates and NACKs reach the SFU.
//!
//! rtc's interceptor chain ends inbound RTCP before the application unless an interceptor
//! marks a packet [`Attribute::DeliverToApplication`]. Receiver reports are the chain's
//! own business (statistics); what the SFU must act on is PLI and FIR (ask the publisher
//! for a keyframe), REMB (choose a simulcast layer) and generic NACK (resend from the
//! stream's packet cache; see `super::retransmit`). This interceptor marks compound
//! packets holding any of those and trims them to just those, so the application never
//! sees the rest.
//!
//! ```text
//!  wire ─▶ SRTCP ─▶ … ReceiverReport … ─▶ KeyframeAndEstimate ─────▶ end of chain ─▶ SFU
//!                                          (marks PLI/FIR/REMB/NACK)  (drops unmarked)
//! ```

use std::collections::VecDeque;
use std::time::Instant;

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::sansio::Protocol;

/// Where the interceptor sits: after every built-in slot (the highest is 13,000), so the
/// built-in interceptors have seen the packet before it is trimmed.
pub const FEEDBACK_SLOT: usize = 14_000;

/// Whether the application wants this RTCP packet.
fn wanted(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>()
        || any.is::<FullIntraRequest>()
        || any.is::<ReceiverEstimatedMaximumBitrate>()
        || any.is::<TransportLayerNack>()
}

/// The marking interceptor (one per peer connection; it keeps no state besides its
/// queues).
#[derive(Default)]
pub struct KeyframeAndEstimate {
    reads: VecDeque<TaggedPacket>,
    writes: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeAndEstimate {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &mut msg.message.packet
            && packets.iter().any(|p| wanted(p.as_ref()))
        {
            packets.retain(|p| wanted(p.as_ref()));
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.reads.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.reads.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.writes.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.writes.pop_front()
    }
}

impl Interceptor for KeyframeAndEstimate {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}
