import ArgumentParser

@main
struct Gadugi: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gadugi",
        abstract: "Run many coding agents in parallel through nothing but the file system.",
        discussion: """
            Drop prompt files (.md, .markdown, .txt, .prompt) into .gadugi/queue/incoming, or hand them to 'gadugi submit' or 'gadugi run FILE...'. A coordinator ('gadugi run') claims each, runs one agent per task under a parallelism limit, and records everything as files under .gadugi/ (see spool-layout.md).

            Examples:
              gadugi run --agent gadugi:simulate examples/prompts/*   # a demo
              gadugi run prompts/*.md                                 # with 'claude -p'
              gadugi status                                           # what is going on

            Exit status: 0 success, 1 failure (a task failed, another coordinator runs, an error), 64 usage error.
            """,
        version: "0.1.0",
        subcommands: [Init.self, Submit.self, Run.self, Status.self, Watch.self, Logs.self, Plan.self, Cancel.self, Retry.self, Hold.self, Release.self,
                      Clean.self, ReviewCommand.self, MergeCommand.self, Heartbeat.self,
                      Progress.self, SimulateAgent.self, WorktreePrepare.self, WorktreeFinish.self]
    )
}
