//! The recorder's task: takes a stream's packets from its tap, runs the [`Recorder`]
//! on them, hands each segment to the sink, and passes the recorder's keyframe wishes
//! back to the media task. It ends when the stream does (the tap closes), cuts the last
//! segment and tells the sink how the recording went.

use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::recorder::Recorder;
use super::sink::{RecordingSummary, Segment, SharedSink};
use super::tap::TapReceiver;

/// How often the reorder rings' timers run.
const TICK: Duration = Duration::from_millis(20);

/// Spawns the recorder of `stream_id`; the handle gives its summary at the end.
pub fn spawn_recorder(stream_id: String, tap: TapReceiver, sink: SharedSink) -> JoinHandle<RecordingSummary> {
    tokio::spawn(run(stream_id, tap, sink))
}

/// Counts of segments handed to the sink.
#[derive(Default)]
struct Handed {
    taken: u32,
    refused: u32,
}

fn hand(sink: &SharedSink, stream_id: &str, segments: &mut Vec<Segment>, handed: &mut Handed) {
    for segment in segments.drain(..) {
        let index = segment.index;
        match sink.segment(stream_id, segment) {
            Ok(()) => handed.taken += 1,
            Err(err) => {
                handed.refused += 1;
                tracing::warn!(stream = %stream_id, index, %err, "a recording segment was dropped: the recording has a gap");
            }
        }
    }
}

async fn run(stream_id: String, mut tap: TapReceiver, sink: SharedSink) -> RecordingSummary {
    let mut recorder = Recorder::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut segments = Vec::new();
    let mut handed = Handed::default();
    loop {
        tokio::select! {
            item = tap.recv() => match item {
                Some(item) => recorder.handle(item, &mut segments),
                None => break,
            },
            _ = tick.tick() => recorder.handle_timeout(Instant::now(), &mut segments),
        }
        if recorder.take_keyframe_request() {
            tap.request_keyframe();
        }
        hand(&sink, &stream_id, &mut segments, &mut handed);
    }
    let mut summary = recorder.finish(&mut segments);
    hand(&sink, &stream_id, &mut segments, &mut handed);
    summary.segments = handed.taken;
    summary.segments_dropped = handed.refused;
    summary.packets_dropped = tap.dropped();
    tracing::info!(stream = %stream_id, ?summary, "recording ended");
    sink.finished(&stream_id, summary);
    summary
}
