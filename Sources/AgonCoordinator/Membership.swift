// Who is in the group: workers by ZeroMQ routing id, their ranks in the current epoch, when
// each was last heard from, and the vacancies a dead worker leaves.
import AgonWire
import Foundation

/// One worker known to the coordinator.
struct Member {
    let peer: [UInt8]
    let workerID: String
    let host: String
    let pid: Int32
    /// Rank in the current epoch's world, or nil while waiting for a place.
    var rank: Int?
    var lastHeard: ContinuousClock.Instant
    /// True once the member has the current parameters and is computing.
    var active: Bool
    /// The worker's gradient segment, once its shared-memory offer was accepted.
    var lane: SharedSegment?
    /// True once the worker has sent gradients through its lane, which shows it mapped the
    /// coordinator's parameter segment: its parameters then go there too.
    var readsSharedParameters = false

    var name: String { "\(host):\(pid) (\(workerID.prefix(8)))" }
}

/// The group and its epoch assignment.
struct Membership {
    private(set) var members: [[UInt8]: Member] = [:]
    /// Workers sharing the current epoch's data.
    private(set) var world = 0

    var count: Int { members.count }
    var all: [Member] { members.values.sorted { ($0.rank ?? .max, $0.workerID) < ($1.rank ?? .max, $1.workerID) } }
    /// Members with a rank, in rank order.
    var ranked: [Member] { all.filter { $0.rank != nil } }

    subscript(peer: [UInt8]) -> Member? {
        get { members[peer] }
        set { members[peer] = newValue }
    }

    /// Adds a worker; it gets a vacant rank of the current epoch if there is one.
    mutating func add(peer: [UInt8], workerID: String, host: String, pid: Int32, now: ContinuousClock.Instant) -> Member {
        // A worker that joins again from a new connection replaces its old entry.
        if let old = members.first(where: { $0.value.workerID == workerID })?.key { members[old] = nil }
        let taken = Set(members.values.compactMap(\.rank))
        let vacant = (0..<world).first { !taken.contains($0) }
        let member = Member(peer: peer, workerID: workerID, host: host, pid: pid, rank: vacant, lastHeard: now, active: false)
        members[peer] = member
        return member
    }

    /// Removes a worker; its rank becomes vacant until the next epoch or the next joiner.
    @discardableResult
    mutating func remove(_ peer: [UInt8]) -> Member? {
        members.removeValue(forKey: peer)
    }

    /// Starts an epoch: every member gets a rank, 0..<count, keeping the order of the old ranks.
    mutating func reshard() {
        let order = all
        world = order.count
        for (rank, member) in order.enumerated() { members[member.peer]?.rank = rank }
    }

    /// Members silent since before `cutoff`.
    func silent(since cutoff: ContinuousClock.Instant) -> [Member] {
        members.values.filter { $0.lastHeard < cutoff }
    }
}
