/** State section of the emulated azure services (owned by test/emulators/azure/). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the owner of this folder
export interface AzureState {}
