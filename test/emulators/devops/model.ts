/** State section of the emulated devops services (owned by test/emulators/devops/). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the owner of this folder
export interface DevOpsState {}
