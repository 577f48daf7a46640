// Reading a source's events back in sequence order from a given seq: what an aggregator that
// was killed replays into files it derives from the store (TensorBoard), so those lose nothing.
// Rare, so the statements are prepared per call and may scan.

import CSQLite3

/// One stored scalar event: its seq, step, wall time and values in their original order.
public typealias StoredScalarEvent = (seq: Int64, step: Int64, wallTime: Double, values: [ScalarValue])

extension RunStore {
    /// The scalar events of `worker`'s `incarnation` with seq ≥ `sequence`, in seq order.
    public func scalarEvents(worker: String, incarnation: Int64 = 0, from sequence: Int64) throws(RunStoreError) -> [StoredScalarEvent] {
        var events: [StoredScalarEvent] = []
        do {
            let query = try Statement(db: db, sql: "SELECT seq, step, wall_time, tag, value FROM scalars WHERE worker = ? AND seq >= ? AND incarnation = ? ORDER BY seq, position")
            query.bind(1, worker)
            query.bind(2, sequence)
            query.bind(3, incarnation)
            while try query.step(db) {
                let seq = query.int64(0)
                let value = ScalarValue(tag: query.string(3), value: query.scalarValue(4))
                if events.last?.seq == seq {
                    events[events.count - 1].values.append(value)
                } else {
                    events.append((seq, query.int64(1), query.double(2), [value]))
                }
            }
        } catch {
            throw self.error(error, doing: "reading the scalar events of \(worker) from seq \(sequence)")
        }
        return events
    }

    /// The images of `worker`'s `incarnation` with seq ≥ `sequence`, in seq order.
    public func imageEvents(worker: String, incarnation: Int64 = 0, from sequence: Int64) throws(RunStoreError)
        -> [(seq: Int64, step: Int64, wallTime: Double, tag: String, width: Int, height: Int, png: [UInt8])] {
        var images: [(seq: Int64, step: Int64, wallTime: Double, tag: String, width: Int, height: Int, png: [UInt8])] = []
        do {
            let query = try Statement(db: db, sql: "SELECT seq, step, wall_time, tag, width, height, png FROM images WHERE worker = ? AND seq >= ? AND incarnation = ? ORDER BY seq")
            query.bind(1, worker)
            query.bind(2, sequence)
            query.bind(3, incarnation)
            while try query.step(db) {
                images.append((query.int64(0), query.int64(1), query.double(2), query.string(3),
                               Int(query.int64(4)), Int(query.int64(5)), query.blob(6)))
            }
        } catch {
            throw self.error(error, doing: "reading the images of \(worker) from seq \(sequence)")
        }
        return images
    }
}
