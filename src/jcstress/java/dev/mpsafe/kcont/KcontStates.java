package dev.mpsafe.kcont;

/** Shared set-up of the kcont jcstress tests: a small manual group whose worker the actor drives. */
final class KcontStates {
    private KcontStates() {
    }

    /** One worker, a 16-slot wheel and room for a few continuations: cheap enough per jcstress state. */
    static Worker manualWorker() {
        return KcontGroup.builder("jcstress").manual().workers(1).wheelSize(16).maxKconts(2).build().worker(0);
    }
}
