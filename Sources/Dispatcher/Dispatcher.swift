import ArgumentParser

@main
struct Dispatcher: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatcher",
        abstract: "Operators' CLI: intake, routing into the seven task forces, deadlines, the case ledger.",
        subcommands: [
            MigrateCommand.self, SubmitCommand.self, ImportCommand.self, StatusCommand.self, CaseCommand.self,
            RerouteCommand.self, TriageCommand.self, CancelCommand.self, ReportCommand.self,
            DashboardCommand.self, ConsoleCommand.self, RolesCommand.self, ClassifyCommand.self, TrainCommand.self, EvalCommand.self,
            InboxCommand.self, SignOffCommand.self, SuspendCommand.self, ResumeCommand.self, ReturnCommand.self,
            CohandleCommand.self, CohandleReplyCommand.self, AnswerCommand.self, CallbackCommand.self,
            SuperviseCommand.self, ChaseCommand.self, KPICommand.self,
        ]
    )
}
