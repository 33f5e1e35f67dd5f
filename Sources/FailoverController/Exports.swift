// JSONValue and the Duration text every module shares live in HotStandbyCore; whoever imports the protocol's
// vocabulary gets them with it.
@_exported import HotStandbyCore
