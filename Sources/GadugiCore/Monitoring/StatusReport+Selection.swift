extension StatusReport {
    /// A task's state as `gadugi status` names it and `--state` selects it: the record's state,
    /// with `queued` and `rejected` for prompts that are no task yet, `held` for a claimed task
    /// a hold keeps back, `pending` for a running task whose Slurm job has not started yet
    /// (`executor: slurm`), and `stalled` for a running task that has shown no sign of life.
    public enum DisplayState: String, CaseIterable, Sendable {
        case queued, claimed, waiting, held, blocked, pending, running, stalled, done, failed, timeout, cancelled, rejected

        /// The task (or prompt) will not change by itself any more.
        public var isFinal: Bool { [.done, .failed, .timeout, .cancelled, .rejected].contains(self) }
    }

    /// Which tasks a report lists. Counts are always of the whole spool.
    public struct Selection: Sendable {
        /// Also the finished ones (`--all`) when no `states` are given.
        public var includeFinished: Bool
        /// Only tasks in these states (`--state`); nil: the active ones, and with
        /// `includeFinished` all.
        public var states: Set<DisplayState>?
        /// Only these tasks (by id, or a queued or rejected prompt's file name, with or without
        /// its extension), finished or not.
        public var ids: Set<String>?

        public init(includeFinished: Bool = false, states: Set<DisplayState>? = nil, ids: Set<String>? = nil) {
            self.includeFinished = includeFinished
            self.states = states
            self.ids = ids
        }

        /// Whether the task `id` (nil: already chosen by id) in `state` is listed.
        public func admits(_ state: DisplayState, id: String?) -> Bool {
            if let ids, let id, !ids.contains(id) { return false }
            if let states { return states.contains(state) }
            return includeFinished || ids != nil || !state.isFinal
        }

        public func admits(_ prompt: Prompt) -> Bool {
            if let ids, !prompt.isNamed(by: ids) { return false }
            return admits(prompt.shown, id: nil)
        }

        /// Whether tasks in any of `states` can be admitted (so their folders need reading).
        func wantsAny(_ states: [DisplayState]) -> Bool {
            if let chosen = self.states { return states.contains(where: chosen.contains) }
            return includeFinished || ids != nil || states.contains { !$0.isFinal }
        }

        var wantsFinished: Bool { wantsAny(DisplayState.allCases.filter(\.isFinal)) }

        /// `--state` text: states separated by commas; nil and the unknown names when one is not
        /// a state.
        public static func states(from text: String) -> Result<Set<DisplayState>, UnknownStates> {
            let names = text.split(separator: ",").map { String($0).trimmed(" ") }.filter { !$0.isEmpty }
            let unknown = names.filter { DisplayState(rawValue: $0) == nil }
            guard unknown.isEmpty, !names.isEmpty else { return .failure(UnknownStates(names: unknown)) }
            return .success(Set(names.compactMap(DisplayState.init(rawValue:))))
        }
    }

    /// `--state` named something that is no state.
    public struct UnknownStates: Error, CustomStringConvertible {
        public var names: [String]
        public var description: String {
            let list = DisplayState.allCases.map(\.rawValue).joined(separator: ", ")
            let what = names.isEmpty ? "no state" : names.map { "'\($0.escapedForTerminal)'" }.joined(separator: ", ")
            return "--state has \(what); expected one or more of \(list), separated by commas (such as --state failed,timeout)"
        }
    }
}
