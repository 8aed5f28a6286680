/** A downstream application of mpsafe, compiled and run on the module path (see pom.xml). */
module dev.mpsafe.consumer {
    requires dev.mpsafe;
}
