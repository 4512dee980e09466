using System.CommandLine;
using System.Net;
using Microsoft.Extensions.Hosting;
using Transformers.Cli.Serving;
using Transformers.Translation;

namespace Transformers.Cli.Commands;

/// <summary>`transformers serve`: a local web page and JSON API to translate and inspect (see <see cref="TranslationServer"/>).</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var model = new Option<string[]>("--model") { Description = "A run, checkpoint or builtin; give it twice to compare two models.", Required = true, AllowMultipleArgumentsPerToken = false }
            .ExistingModels(BuiltInTranslator.Name);
        var host = new Option<string>("--host") { Description = "Address to listen on: loopback by default; another address exposes the server to the network.", DefaultValueFactory = _ => "127.0.0.1" };
        host.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
                if (token.Value != "localhost" && !IPAddress.TryParse(token.Value, out _)) r.AddError($"--host {token.Value}: give an IP address (127.0.0.1, ::1, 0.0.0.0) or localhost");
        });
        var port = new Option<int>("--port") { Description = "TCP port, 1..65535.", DefaultValueFactory = _ => 5000 }.Within(1, 65535);
        var runtime = new ModelRuntime();
        var cmd = new Command("serve", "Serve a page to translate French and inspect the translation (attention, gates), and a JSON API: POST /api/translate, POST /api/inspect. Ctrl-C stops.")
        {
            model, host, port,
        };
        runtime.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var dirs = parse.GetValue(model)!;
            if (dirs.Length > 2) throw new ArgumentException($"--model given {dirs.Length} times: serve takes one model, or two to compare");
            var device = runtime.Start(parse);
            var models = new List<ServedModel>();
            try
            {
                foreach (var dir in dirs) models.Add(ServedModel.Load(dir, device));
            }
            catch
            {
                foreach (var m in models) m.Dispose();
                throw;
            }
            using var service = new TranslationService(models);
            string address = parse.GetValue(host)!, url = $"http://{(address.Contains(':') ? $"[{address}]" : address)}:{parse.GetValue(port)}";
            if (address is not ("127.0.0.1" or "::1" or "localhost"))
                Console.Error.WriteLine($"warning: listening on {address}: anyone who can reach this machine can use the server");
            var app = TranslationServer.Build(service, url);
            app.Start();
            Console.Error.WriteLine($"serving {string.Join(" and ", models.Select(m => $"{m.Name} ({m.Architecture})"))} on {TranslationServer.Address(app)} (Ctrl-C stops)");
            app.WaitForShutdown();
            return 0;
        });
        return cmd;
    }
}
