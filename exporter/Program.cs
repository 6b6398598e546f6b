return VisualGen.Exporter.ExporterApp.Run(args);
