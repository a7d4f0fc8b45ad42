// The shape of the C++ addon's exports (native/binding). Each binding module adds its part here.

export interface NativeAddon {
  readonly wire: unknown;
}
