return VisualGen.Cli.CliApp.Run(args);
