package io.fedstream.cli;

import io.fedstream.sidecar.Sidecar;
import io.fedstream.sidecar.SidecarSettings;

/** {@code fedstream sidecar}: one training sidecar as its own process. */
final class SidecarCommand implements Command {
    @Override
    public String name() {
        return "sidecar";
    }

    @Override
    public String summary() {
        return "run a training sidecar next to a silo's data";
    }

    @Override
    public String help() {
        return SidecarSettings.help();
    }

    @Override
    public int run(String[] args) throws Exception {
        SidecarSettings settings = SidecarSettings.fromArgs(args, System.getenv());
        try (Sidecar sidecar = new Sidecar(settings)) {
            Thread main = Thread.currentThread();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                sidecar.stop();
                try {
                    main.join(10_000);
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            }));
            System.out.printf("sidecar %s of federation %s: model spec %s, waiting for plans%n",
                    settings.clientId(), settings.federation(), sidecar.specFingerprint().substring(0, 12));
            sidecar.run();
            if (sidecar.finish() != null) {
                System.out.printf("federation finished: %d rounds, final eval accuracy %.4f, model %s%n",
                        sidecar.finish().getRounds(), sidecar.finish().getFinalEvalAccuracy(), sidecar.finish().getFinalModelDigest());
            }
        }
        return 0;
    }
}
