import ArgumentParser

@main
struct Gadugi: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gadugi",
        abstract: "Run many coding agents in parallel through nothing but the file system.",
        discussion: """
            Drop prompt files (.md, .markdown, .txt, .prompt) into .gadugi/queue/incoming, or hand
            them to 'gadugi submit' or 'gadugi run FILE...'. A coordinator ('gadugi run') claims each,
            runs one agent per task under a parallelism limit, and records everything as files under
            .gadugi/ (see spool-layout.md). Quick start:

              gadugi run --agent gadugi:simulate examples/*.md    # a demo with the simulated agent
              gadugi run prompts/*.md                             # run prompts with 'claude -p'
              gadugi status                                       # what is happening

            Exit status: 0 success, 1 failure (a task failed, another coordinator runs, an error),
            64 usage error.
            """,
        subcommands: [Init.self, Submit.self, Run.self, Status.self, Heartbeat.self, Progress.self, SimulateAgent.self]
    )
}
