/** State section of the emulated kube services (owned by test/emulators/kube/). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the owner of this folder
export interface KubeState {}
