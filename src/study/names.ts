// The study's profiles and architectures, free of imports so the command line can offer them before any study code loads.

export type StudyProfile = 'quick' | 'small' | 'paper';
export const STUDY_PROFILES: readonly StudyProfile[] = ['quick', 'small', 'paper'];

/** The classifiers trained in regular-evaluation (branches) mode, table I. */
export type BranchArch = 'alexnet' | 'vgg16' | 'resnet34';
export const BRANCH_ARCHS: readonly BranchArch[] = ['alexnet', 'vgg16', 'resnet34'];
/** Architectures a study can run: the three classifiers, SPA (mabCAM) and the depth experiment's AlexNet. */
export type StudyArch = BranchArch | 'spa' | 'alexnet-depth';
export const STUDY_ARCHS: readonly StudyArch[] = [...BRANCH_ARCHS, 'spa', 'alexnet-depth'];
