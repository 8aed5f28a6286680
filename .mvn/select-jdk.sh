# shellcheck shell=sh
# Sourced by ./mvnw before it starts Maven. mpsafe compiles with --release 25,
# so Maven itself must run on a JDK 25 or newer (the forked jcstress, JMH and
# test JVMs then use the same JDK). A machine's default java is often older, so
# look for a suitable JDK in the usual places instead of asking every user to
# export JAVA_HOME, and fail at once, saying what to install, when none exists.
#
# Order: MPSAFE_JAVA_HOME, then JAVA_HOME, then the standard install folders.

mpsafe_required_jdk=25

# Prints the feature version of the JDK rooted at $1 (e.g. 25), or nothing.
mpsafe_jdk_feature() {
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  if [ -f "$1/release" ]; then
    sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$1/release" | head -n 1
  fi
}

mpsafe_select_jdk() {
  set +f  # mvnw runs with globbing off; the search below needs it
  for mpsafe_candidate in "${MPSAFE_JAVA_HOME-}" "${JAVA_HOME-}" \
      /usr/lib/jvm/temurin-* /usr/lib/jvm/* /opt/java/* /usr/java/* \
      "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/* \
      /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -n "$mpsafe_candidate" ] && [ -d "$mpsafe_candidate" ] || continue
    mpsafe_feature=$(mpsafe_jdk_feature "$mpsafe_candidate")
    if [ -n "$mpsafe_feature" ] && [ "$mpsafe_feature" -ge "$mpsafe_required_jdk" ]; then
      JAVA_HOME="$mpsafe_candidate"
      export JAVA_HOME
      set -f
      return 0
    fi
  done
  {
    echo "mpsafe: no JDK $mpsafe_required_jdk or newer found; the build needs one (it compiles with --release $mpsafe_required_jdk)."
    echo "  looked at: \$MPSAFE_JAVA_HOME, \$JAVA_HOME (${JAVA_HOME:-unset}), /usr/lib/jvm/*, /opt/java/*, /usr/java/*,"
    echo "             ~/.sdkman/candidates/java/*, ~/.jdks/*, /Library/Java/JavaVirtualMachines/*"
    echo "  install Eclipse Temurin $mpsafe_required_jdk (https://adoptium.net; Debian/Ubuntu: package temurin-$mpsafe_required_jdk-jdk"
    echo "  from the Adoptium apt repository; SDKMAN: sdk install java $mpsafe_required_jdk-tem), then run ./mvnw again"
    echo "  or set MPSAFE_JAVA_HOME to its folder."
  } >&2
  exit 1
}

mpsafe_select_jdk
